//! Small, valid example inputs, so that tests, the synthetic generator and documentation state only
//! what matters to them.

use crate::organisation::practice::{NewPremises, PracticeSetup};
use crate::organisation::staff::NewStaff;
use crate::permission::Role;

pub fn premises() -> NewPremises {
    NewPremises {
        name: "Riverside Veterinary Centre".into(),
        address_line1: "12 Mill Lane".into(),
        address_line2: String::new(),
        town: "Exeter".into(),
        postcode: "EX1 1AA".into(),
        phone: "01392 000000".into(),
        rcvs_premises_number: "PSS-12345".into(),
    }
}

pub fn staff(username: &str, role: Role, password: &str) -> NewStaff {
    NewStaff {
        username: username.into(),
        display_name: format!("Test {}", role.as_str()),
        role,
        qualifications: if role == Role::Vet { "BVSc MRCVS".into() } else { String::new() },
        rcvs_number: (role == Role::Vet).then(|| "7012345".into()),
        password: password.into(),
        must_change_password: false,
    }
}

pub fn practice_setup(admin_username: &str, admin_password: &str) -> PracticeSetup {
    PracticeSetup {
        practice_name: "Riverside Vets".into(),
        premises: premises(),
        admin: NewStaff { display_name: "Alex Admin".into(), ..staff(admin_username, Role::Admin, admin_password) },
    }
}
