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
    /// Record an animal's death, which cannot be undone.
    RecordDeath,
    BookAppointment,
    /// Move, cancel, or move an appointment along its status flow.
    ChangeAppointment,
    SetWorkingHours,
    /// Load records that already happened elsewhere (a PMS snapshot, a generated demo practice).
    ImportRecords,
    /// Write records out to files (CSV for the PMS's back-entry): all the practice's clients at once.
    ExportRecords,
    /// Record when the outage began (the start of the backlog).
    ManageOutage,
    /// Mark backlog records as entered in the PMS (with the PMS's numbers) or verified there.
    ReconcileRecords,
    /// Decide whether two clients or animals are duplicates, and merge them.
    MergeRecords,
    /// Read clinical notes, prescriptions and the controlled drugs register.
    ViewClinical,
    /// Start, write and sign consultations, and add addenda.
    RecordConsultation,
    /// Void a clinical record (it stays, marked void with the reason).
    VoidClinical,
    /// Prescribe (the product's legal category narrows who, see `prescription.rs`).
    Prescribe,
    Dispense,
    /// Receipts, administrations, destructions, stock checks and corrections in the CD register.
    RecordControlledDrugs,
    ManageFormulary,
    ManageFees,
    CaptureCharge,
    /// Settle a sync conflict (keep one version, or combine them).
    ResolveConflicts,
    /// Send a patient's record to another practice of the group.
    HandOver,
    /// Pair this PC with the practice relay or the hub, host the relay, export and import bundles.
    ManageSync,
    /// Sign in (every account): recorded in the journal and the audit log, as are wrong passwords.
    SignIn,
    /// Change one's own password (every account).
    ChangeOwnPassword,
    /// Request lab tests for an animal (recording who took the sample).
    RequestLabWork,
    /// Enter lab results (values, a comment, the lab's file).
    RecordLabResults,
    /// Change the practice's list of lab tests.
    ManageLabTests,
    /// Take payments and deposits, and run card payments taken down earlier.
    TakePayment,
    /// Count the cash at the end of the day against what was taken.
    CashUp,
    /// Note an insurance claim to make.
    RecordClaim,
    /// Give a PC blocks of client, animal and receipt numbers.
    ManageNumbers,
    /// Start and end a drill on a copy of the practice's data, and read its report.
    RunDrill,
    /// See this PC's backups, back up now, choose where copies go, and restore one.
    ManageBackups,
}

impl Action {
    pub const ALL: [Action; 43] = [
        Action::EditPractice,
        Action::AddStaff,
        Action::EditStaff,
        Action::ViewStaff,
        Action::ViewJournal,
        Action::ViewAudit,
        Action::ViewRecords,
        Action::RegisterClient,
        Action::EditClient,
        Action::RegisterPatient,
        Action::EditPatient,
        Action::RecordDeath,
        Action::BookAppointment,
        Action::ChangeAppointment,
        Action::SetWorkingHours,
        Action::ImportRecords,
        Action::ExportRecords,
        Action::ManageOutage,
        Action::ReconcileRecords,
        Action::MergeRecords,
        Action::ViewClinical,
        Action::RecordConsultation,
        Action::VoidClinical,
        Action::Prescribe,
        Action::Dispense,
        Action::RecordControlledDrugs,
        Action::ManageFormulary,
        Action::ManageFees,
        Action::CaptureCharge,
        Action::ResolveConflicts,
        Action::HandOver,
        Action::ManageSync,
        Action::SignIn,
        Action::ChangeOwnPassword,
        Action::RequestLabWork,
        Action::RecordLabResults,
        Action::ManageLabTests,
        Action::TakePayment,
        Action::CashUp,
        Action::RecordClaim,
        Action::ManageNumbers,
        Action::RunDrill,
        Action::ManageBackups,
    ];

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
            Action::RecordDeath => "patient.record_death",
            Action::BookAppointment => "appointment.book",
            Action::ChangeAppointment => "appointment.change",
            Action::SetWorkingHours => "working_hours.set",
            Action::ImportRecords => "records.import",
            Action::ExportRecords => "records.export",
            Action::ManageOutage => "outage.manage",
            Action::ReconcileRecords => "records.reconcile",
            Action::MergeRecords => "records.merge",
            Action::ViewClinical => "clinical.view",
            Action::RecordConsultation => "consultation.record",
            Action::VoidClinical => "clinical.void",
            Action::Prescribe => "prescription.prescribe",
            Action::Dispense => "prescription.dispense",
            Action::RecordControlledDrugs => "cd_register.record",
            Action::ManageFormulary => "formulary.manage",
            Action::ManageFees => "fees.manage",
            Action::CaptureCharge => "charge.capture",
            Action::ResolveConflicts => "conflict.resolve",
            Action::HandOver => "patient.hand_over",
            Action::ManageSync => "sync.manage",
            Action::SignIn => "staff.sign_in",
            Action::ChangeOwnPassword => "staff.change_own_password",
            Action::RequestLabWork => "lab.request",
            Action::RecordLabResults => "lab.record_result",
            Action::ManageLabTests => "lab_tests.manage",
            Action::TakePayment => "payment.take",
            Action::CashUp => "payment.cash_up",
            Action::RecordClaim => "claim.record",
            Action::ManageNumbers => "numbers.manage",
            Action::RunDrill => "drill.run",
            Action::ManageBackups => "backup.manage",
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
            Action::RecordDeath => "record an animal's death",
            Action::BookAppointment => "book appointments",
            Action::ChangeAppointment => "change appointments",
            Action::SetWorkingHours => "set clinicians' working hours",
            Action::ImportRecords => "import records",
            Action::ExportRecords => "export records",
            Action::ManageOutage => "record when the outage began",
            Action::ReconcileRecords => "mark records entered in the PMS",
            Action::MergeRecords => "link or merge duplicate records",
            Action::ViewClinical => "read clinical records",
            Action::RecordConsultation => "write consultations",
            Action::VoidClinical => "void clinical records",
            Action::Prescribe => "prescribe",
            Action::Dispense => "dispense medicines",
            Action::RecordControlledDrugs => "write in the controlled drugs register",
            Action::ManageFormulary => "change the formulary",
            Action::ManageFees => "change the practice's fees",
            Action::CaptureCharge => "record charges",
            Action::ResolveConflicts => "resolve sync conflicts",
            Action::HandOver => "send records to another practice",
            Action::ManageSync => "set up sync",
            Action::SignIn => "sign in",
            Action::ChangeOwnPassword => "change their own password",
            Action::RequestLabWork => "request lab tests",
            Action::RecordLabResults => "enter lab results",
            Action::ManageLabTests => "change the practice's list of lab tests",
            Action::TakePayment => "take payments",
            Action::CashUp => "cash up",
            Action::RecordClaim => "note insurance claims",
            Action::ManageNumbers => "give PCs blocks of numbers",
            Action::RunDrill => "run drills",
            Action::ManageBackups => "manage backups",
        }
    }
}

/// The permission table. One place, read top to bottom.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewStaff | ViewRecords | SignIn | ChangeOwnPassword => true,
        // Everyone at the front desk or in the consulting room books and registers.
        RegisterClient | EditClient | RegisterPatient | EditPatient | BookAppointment | ChangeAppointment => true,
        CaptureCharge | TakePayment | RecordClaim => true,
        // The till is counted at the desk or by a manager.
        CashUp => matches!(role, Reception | Manager | Admin),
        AddStaff | EditStaff | ViewJournal | ViewAudit | SetWorkingHours | ImportRecords | ExportRecords
        | ManageOutage | ReconcileRecords | MergeRecords | ManageFees | ManageNumbers | RunDrill | ManageBackups => {
            matches!(role, Manager | Admin)
        }
        EditPractice => matches!(role, Admin),
        RecordDeath => matches!(role, Vet | Nurse | Manager | Admin),
        // Clinical records are for the clinical team; managers read them to reconcile.
        ViewClinical => matches!(role, Vet | Nurse | Manager | Admin),
        RecordConsultation | VoidClinical | Prescribe | Dispense => matches!(role, Vet | Nurse),
        // Vets request tests and nurses take samples and run them; both enter what comes back.
        RequestLabWork | RecordLabResults => matches!(role, Vet | Nurse),
        ManageLabTests => matches!(role, Vet | Manager | Admin),
        RecordControlledDrugs => matches!(role, Vet | Nurse | Manager),
        ManageFormulary => matches!(role, Vet | Manager | Admin),
        // A double booking or a duplicate registration is settled at the desk or by a manager.
        ResolveConflicts => matches!(role, Reception | Manager | Admin),
        HandOver => matches!(role, Vet | Nurse | Manager | Admin),
        ManageSync => matches!(role, Manager | Admin),
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
    fn only_the_clinical_team_writes_clinical_records_and_reception_does_not_read_them() {
        for role in Role::ALL {
            let clinical = matches!(role, Role::Vet | Role::Nurse);
            for action in [Action::RecordConsultation, Action::Prescribe, Action::Dispense, Action::VoidClinical] {
                assert_eq!(allows(role, action), clinical, "{role} {action:?}");
            }
            assert_eq!(allows(role, Action::ViewClinical), role != Role::Reception, "{role} view clinical");
            assert_eq!(allows(role, Action::RecordDeath), role != Role::Reception, "{role} record death");
        }
    }

    #[test]
    fn action_names_are_unique() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
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
