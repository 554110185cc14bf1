//! Roles and the one table that says which role may do what. Every write is checked against it in
//! the core, inside the write's transaction, with the role read from the database (so a demoted or
//! deactivated account loses its rights at once, whatever its session says).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reception,
    Nurse,
    Vet,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Reception, Role::Nurse, Role::Vet, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reception => "reception",
            Role::Nurse => "nurse",
            Role::Vet => "vet",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a person can ask Lifeboat to do that needs a permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    EditPractice,
    AddStaff,
    EditStaff,
    ViewStaff,
    ViewJournal,
    ViewAudit,
    /// Find and read clients, patients and appointments.
    ViewRecords,
    RegisterClient,
    EditClient,
    RegisterPatient,
    EditPatient,
    BookAppointment,
    /// Move, cancel, or move an appointment along its status flow.
    ChangeAppointment,
    SetWorkingHours,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::EditPractice => "practice.edit",
            Action::AddStaff => "staff.add",
            Action::EditStaff => "staff.edit",
            Action::ViewStaff => "staff.view",
            Action::ViewJournal => "journal.view",
            Action::ViewAudit => "audit.view",
            Action::ViewRecords => "records.view",
            Action::RegisterClient => "client.register",
            Action::EditClient => "client.edit",
            Action::RegisterPatient => "patient.register",
            Action::EditPatient => "patient.edit",
            Action::BookAppointment => "appointment.book",
            Action::ChangeAppointment => "appointment.change",
            Action::SetWorkingHours => "working_hours.set",
        }
    }

    /// What the person was trying to do, for refusals.
    pub fn describe(self) -> &'static str {
        match self {
            Action::EditPractice => "change the practice's details",
            Action::AddStaff => "add staff accounts",
            Action::EditStaff => "change staff accounts",
            Action::ViewStaff => "see the staff list",
            Action::ViewJournal => "read the change journal",
            Action::ViewAudit => "read the audit log",
            Action::ViewRecords => "see clients, patients and appointments",
            Action::RegisterClient => "register clients",
            Action::EditClient => "change client details",
            Action::RegisterPatient => "register patients",
            Action::EditPatient => "change patient details",
            Action::BookAppointment => "book appointments",
            Action::ChangeAppointment => "change appointments",
            Action::SetWorkingHours => "set clinicians' working hours",
        }
    }
}

/// The permission table. One place, read top to bottom.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewStaff | ViewRecords => true,
        // Everyone at the front desk or in the consulting room books and registers.
        RegisterClient | EditClient | RegisterPatient | EditPatient | BookAppointment | ChangeAppointment => true,
        AddStaff | EditStaff | ViewJournal | ViewAudit | SetWorkingHours => matches!(role, Manager | Admin),
        EditPractice => matches!(role, Admin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_managers_and_admins_manage_staff_and_only_admins_edit_the_practice() {
        for role in Role::ALL {
            let manages = matches!(role, Role::Manager | Role::Admin);
            assert_eq!(allows(role, Action::AddStaff), manages, "{role} add staff");
            assert_eq!(allows(role, Action::EditStaff), manages, "{role} edit staff");
            assert_eq!(allows(role, Action::EditPractice), role == Role::Admin, "{role} edit practice");
            assert!(allows(role, Action::ViewStaff), "{role} view staff");
        }
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse(" Vet "), Some(Role::Vet));
        assert_eq!(Role::parse("surgeon"), None);
    }
}
