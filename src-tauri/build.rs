// Declaring the app's commands in a manifest makes each one a permission (`allow-<command>`), so the
// capability file in capabilities/ lists exactly what the window may call, and nothing else.
const COMMANDS: &[&str] = &[
    "app_status",
    "setup_practice",
    "login",
    "logout",
    "sync_status",
    "practice",
    "list_staff",
    "add_staff",
    "update_staff",
    "reference_data",
    "search",
    "likely_duplicate_clients",
    "register_client",
    "register_patient",
    "client_record",
    "patient_record",
    "day_book",
    "book_appointment",
    "move_appointment",
    "set_appointment_status",
    "print_day_list",
    "record_death",
    "working_week",
    "set_working_week",
    "my_consults",
    "start_consultation",
    "consultation_view",
    "save_consultation_draft",
    "sign_consultation",
    "add_addendum",
    "void_record",
    "patient_history",
    "find_products",
    "check_prescription",
    "prescribe",
    "dispense",
    "print_label",
    "print_prescription",
    "add_charge",
    "cd_register",
    "cd_entries",
    "record_cd_entry",
    "add_starter_lists",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
