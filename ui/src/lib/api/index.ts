// The only code in the UI that talks to the back end. Every other component calls these typed
// functions; the types are generated from the Rust types (see types/, never edit them by hand).
import { Channel, invoke } from '@tauri-apps/api/core';
import type { AppStatus } from './types/AppStatus';
import type { CommandError } from './types/CommandError';
import type { ErrorCode } from './types/ErrorCode';
import type { Registered } from './types/Registered';
import type { NewStaff } from './types/NewStaff';
import type { Practice } from './types/Practice';
import type { PracticeSetup } from './types/PracticeSetup';
import type { Session } from './types/Session';
import type { Staff } from './types/Staff';
import type { StaffUpdate } from './types/StaffUpdate';
import type { SyncStatus } from './types/SyncStatus';
import type { Appointment } from './types/Appointment';
import type { AppointmentMove } from './types/AppointmentMove';
import type { AppointmentStatus } from './types/AppointmentStatus';
import type { Client } from './types/Client';
import type { ClientRecord } from './types/ClientRecord';
import type { DayBook } from './types/DayBook';
import type { LikelyDuplicate } from './types/LikelyDuplicate';
import type { NewAppointment } from './types/NewAppointment';
import type { NewClient } from './types/NewClient';
import type { NewPatient } from './types/NewPatient';
import type { Patient } from './types/Patient';
import type { PatientRecord } from './types/PatientRecord';
import type { ReferenceData } from './types/ReferenceData';
import type { SearchHit } from './types/SearchHit';
import type { SyncOverview } from './types/SyncOverview';
import type { PairingInfo } from './types/PairingInfo';
import type { Peer } from './types/Peer';
import type { ConflictView } from './types/ConflictView';
import type { Conflict } from './types/Conflict';
import type { Resolution } from './types/Resolution';
import type { BundleWritten } from './types/BundleWritten';
import type { BundleRead } from './types/BundleRead';
import type { Destination } from './types/Destination';
import type { Handover } from './types/Handover';
import type { Drill } from './types/Drill';
import type { ExportsSettings } from './types/ExportsSettings';
import type { BackupsOverview } from './types/BackupsOverview';
import type { BackupSummary } from './types/BackupSummary';
import type { KeyProtection } from './types/KeyProtection';
import type { BackupFile } from './types/BackupFile';
import type { DrillPlan } from './types/DrillPlan';
import type { DrillReport } from './types/DrillReport';
import type { Preview } from './types/Preview';
import type { ImportKind } from './types/ImportKind';
import type { ImportOptions } from './types/ImportOptions';
import type { ImportDone } from './types/ImportDone';
import type { ImportProgress } from './types/ImportProgress';
import type { ExportWritten } from './types/ExportWritten';
import type { Backlog } from './types/Backlog';
import type { Ledger } from './types/Ledger';
import type { LedgerFilter } from './types/LedgerFilter';
import type { EnteredMark } from './types/EnteredMark';
import type { Marked } from './types/Marked';
import type { Duplicates } from './types/Duplicates';
import type { Decision } from './types/Decision';
import type { ClosingStatus } from './types/ClosingStatus';
import type { PurgeCounts } from './types/PurgeCounts';
export type { Preview, ImportKind, ImportOptions, ImportDone, ImportProgress, ExportWritten, Backlog, Ledger, LedgerFilter, EnteredMark, Marked, Duplicates, Decision, ClosingStatus, PurgeCounts };
export type { ImportReport } from './types/ImportReport';
export type { Rejected } from './types/Rejected';
export type { Mapping } from './types/Mapping';
export type { SyncOverview, PairingInfo, Peer, ConflictView, Conflict, Resolution, BundleWritten, BundleRead, Destination, Handover };
export type { ConflictSide } from './types/ConflictSide';
export type { Drill, DrillPlan, DrillReport, ExportsSettings };
export type { BackupsOverview, BackupSummary, BackupFile, KeyProtection };
export type { DrillBanner } from './types/DrillBanner';
export type { DrillTask } from './types/DrillTask';
export type { Outcome } from './types/Outcome';
export type { TaskResult } from './types/TaskResult';
export type { HostedRelay } from './types/HostedRelay';

export type { AppStatus, CommandError, ErrorCode, Registered, NewStaff, Practice, PracticeSetup, Session, Staff, StaffUpdate, SyncStatus };
export type { Appointment, AppointmentMove, AppointmentStatus, Client, ClientRecord, DayBook, LikelyDuplicate, NewAppointment };
export type { NewClient, NewPatient, Patient, PatientRecord, ReferenceData, SearchHit };
export type { AppointmentKind } from './types/AppointmentKind';
export type { Species } from './types/Species';
export type { Sex } from './types/Sex';
export type { PatientBrief } from './types/PatientBrief';
export type { DayClinician } from './types/DayClinician';
export type { Role } from './types/Role';
export type { NewPremises } from './types/NewPremises';
import type { MyConsults } from './types/MyConsults';
import type { StartConsultation } from './types/StartConsultation';
import type { Consultation } from './types/Consultation';
import type { ConsultationView } from './types/ConsultationView';
import type { ConsultationDraft } from './types/ConsultationDraft';
import type { DraftSaved } from './types/DraftSaved';
import type { Addendum } from './types/Addendum';
import type { NewAddendum } from './types/NewAddendum';
import type { Voidable } from './types/Voidable';
import type { PatientHistory } from './types/PatientHistory';
import type { Product } from './types/Product';
import type { NewPrescription } from './types/NewPrescription';
import type { Problem } from './types/Problem';
import type { Prescribed } from './types/Prescribed';
import type { Dispensing } from './types/Dispensing';
import type { NewDispensing } from './types/NewDispensing';
import type { Charge } from './types/Charge';
import type { NewCharge } from './types/NewCharge';
import type { CdRegister } from './types/CdRegister';
import type { CdEntry } from './types/CdEntry';
import type { NewCdEntry } from './types/NewCdEntry';
import type { StarterLists } from './types/StarterLists';
export type { MyConsults, StartConsultation, Consultation, ConsultationView, ConsultationDraft, DraftSaved, Addendum, NewAddendum };
export type { Voidable, PatientHistory, Product, NewPrescription, Problem, Prescribed, Dispensing, NewDispensing };
export type { Charge, NewCharge, CdRegister, CdEntry, NewCdEntry, StarterLists };
export type { ConsultRow } from './types/ConsultRow';
export type { ConsultState } from './types/ConsultState';
export type { Vitals } from './types/Vitals';
export type { VitalWarning } from './types/VitalWarning';
export type { HistoryEntry } from './types/HistoryEntry';
export type { WeightPoint } from './types/WeightPoint';
export type { Prescription } from './types/Prescription';
export type { CdBalance } from './types/CdBalance';
export type { CdEntryKind } from './types/CdEntryKind';
export type { Fee } from './types/Fee';
import type { LabTest } from './types/LabTest';
import type { LabTestInput } from './types/LabTestInput';
import type { LabRequest } from './types/LabRequest';
import type { NewLabRequest } from './types/NewLabRequest';
import type { LabResult } from './types/LabResult';
import type { NewLabResult } from './types/NewLabResult';
import type { LabAwaited } from './types/LabAwaited';
export type { LabTest, LabTestInput, LabRequest, NewLabRequest, LabResult, NewLabResult, LabAwaited };
export type { LabValue } from './types/LabValue';
import type { PackStatus } from './types/PackStatus';
import type { PackInfo } from './types/PackInfo';
export type { PackStatus, PackInfo };
import type { ClientAccount } from './types/ClientAccount';
import type { NewPayment } from './types/NewPayment';
import type { Payment } from './types/Payment';
import type { CashUp } from './types/CashUp';
import type { NewClaim } from './types/NewClaim';
import type { Claim } from './types/Claim';
import type { Takings } from './types/Takings';
export type { ClientAccount, NewPayment, Payment, CashUp, NewClaim, Claim, Takings };
export type { PaymentMethod } from './types/PaymentMethod';
import type { NumberBlocks } from './types/NumberBlocks';
import type { NumberBlock } from './types/NumberBlock';
import type { NumberKind } from './types/NumberKind';
export type { NumberBlocks, NumberBlock, NumberKind };
export type { PaymentKind } from './types/PaymentKind';
export type { CardState } from './types/CardState';
import type { LabValueInput } from './types/LabValueInput';
export type { LabValueInput };
export type { LabFlag } from './types/LabFlag';
export type { AwaitedRequest } from './types/AwaitedRequest';

/** A refusal from the back end: `code` to act on, `message` to show, `field` to highlight. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly field: string | null;

  constructor(e: CommandError) {
    super(e.message);
    this.code = e.code;
    this.field = e.field;
  }
}

function isCommandError(e: unknown): e is CommandError {
  return typeof e === 'object' && e !== null && 'code' in e && 'message' in e;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    if (isCommandError(e)) throw new ApiError(e);
    // A plain message is the back end refusing to read what was sent (a number out of range, say).
    if (typeof e === 'string') throw new ApiError({ code: 'invalid', message: `Lifeboat could not read what was sent: ${e}. Check the figures you typed.`, field: null });
    throw new ApiError({ code: 'ipc', message: `Lifeboat's back end did not answer (${String(e)}). Restart the app.`, field: null });
  }
}

/** A channel that hands each message to `listener` (how long work reports its progress). */
function channel<T>(listener: (message: T) => void): Channel<T> {
  const c = new Channel<T>();
  c.onmessage = listener;
  return c;
}

export const api = {
  appStatus: () => call<AppStatus>('app_status'),
  /** Creates the practice; returns its recovery key, shown this once. */
  /** Sets up the practice; `passphrase` seals the key on a PC without a credential store. */
  setupPractice: (setup: PracticeSetup, passphrase: string | null) => call<string>('setup_practice', { setup, passphrase }),
  /** The first screen is on show (noted once, for the start-up benchmark). */
  firstScreenShown: (screen: 'setup' | 'login' | 'home' | 'unavailable' | 'preparing') => call<number>('first_screen_shown', { screen }),
  keyProtection: () => call<KeyProtection>('key_protection'),
  /** A new recovery key (admins), shown this once. */
  makeRecoveryKey: () => call<string>('make_recovery_key'),
  /** The admin has kept the newest recovery key: the one before stops working. */
  confirmRecoveryKey: () => call<void>('confirm_recovery_key'),
  /** A new database key (admins); returns the new recovery key, shown this once. */
  changeKey: () => call<string>('change_key'),
  /** Opens a database whose key is not on this PC; the app restarts. */
  unlockWithRecoveryKey: (recoveryKey: string) => call<void>('unlock_with_recovery_key', { recoveryKey }),
  /** Opens the records with this PC's passphrase, typed at start (no restart). */
  unlockWithPassphrase: (passphrase: string) => call<void>('unlock_with_passphrase', { passphrase }),
  /** Protects the key with a passphrase on a PC without a credential store (admins). */
  setPassphrase: (passphrase: string) => call<KeyProtection>('set_passphrase', { passphrase }),
  login: (username: string, password: string) => call<Session>('login', { username, password }),
  logout: () => call<null>('logout'),
  /** Locks the screen: nothing that needs the person works until `unlockScreen`. */
  lockScreen: () => call<null>('lock_screen'),
  unlockScreen: (password: string) => call<Session>('unlock_screen', { password }),
  /** Minutes this PC may sit untouched before its screen locks. */
  idleLockMinutes: () => call<number>('idle_lock_minutes'),
  setIdleLockMinutes: (minutes: number) => call<number>('set_idle_lock_minutes', { minutes }),
  /** A PIN (4 to 8 digits) that re-opens this session's locked screen on this PC for a shift. */
  setUnlockPin: (pin: string, password: string) => call<null>('set_unlock_pin', { pin, password }),
  unlockWithPin: (pin: string) => call<Session>('unlock_with_pin', { pin }),
  changeOwnPassword: (currentPassword: string, newPassword: string) => call<null>('change_own_password', { currentPassword, newPassword }),
  syncStatus: () => call<SyncStatus>('sync_status'),
  practice: () => call<Practice | null>('practice'),
  listStaff: () => call<Staff[]>('list_staff'),
  addStaff: (staff: NewStaff) => call<Staff>('add_staff', { staff }),
  updateStaff: (id: string, update: StaffUpdate) => call<Staff>('update_staff', { id, update }),
  /** Gives someone a new password, to be replaced by their own at their next login (managers). */
  resetStaffPassword: (id: string, password: string) => call<Staff>('reset_staff_password', { id, password }),
  referenceData: () => call<ReferenceData>('reference_data'),
  search: (query: string) => call<SearchHit[]>('search', { query }),
  likelyDuplicateClients: (probe: NewClient) => call<LikelyDuplicate[]>('likely_duplicate_clients', { probe }),
  /** A new client, with their animal if given: both are saved, or neither. */
  registerClient: (client: NewClient, patient: NewPatient | null) => call<Registered>('register_client', { client, patient }),
  registerPatient: (owner: string, patient: NewPatient) => call<Patient>('register_patient', { owner, patient }),
  clientRecord: (id: string) => call<ClientRecord>('client_record', { id }),
  patientRecord: (id: string) => call<PatientRecord>('patient_record', { id }),
  /** `date` is a London date, YYYY-MM-DD. */
  dayBook: (date: string) => call<DayBook>('day_book', { date }),
  bookAppointment: (appointment: NewAppointment) => call<Appointment>('book_appointment', { appointment }),
  moveAppointment: (id: string, to: AppointmentMove) => call<Appointment>('move_appointment', { id, to }),
  setAppointmentStatus: (id: string, status: AppointmentStatus) => call<Appointment>('set_appointment_status', { id, status }),
  /** Saves the day list PDF and returns its path. */
  printDayList: (date: string) => call<string>('print_day_list', { date }),
  /** `on` is a London date, YYYY-MM-DD. */
  recordDeath: (patient: string, on: string) => call<Patient>('record_death', { patient, on }),
  /** Weekly hours as text, e.g. "mon-fri 08:30-18:00, sat 09:00-12:30" ("none": no set hours). */
  workingWeek: (clinician: string) => call<string>('working_week', { clinician }),
  setWorkingWeek: (clinician: string, week: string) => call<string>('set_working_week', { clinician, week }),

  // The consult room.
  /** `date` is a London date, YYYY-MM-DD. */
  myConsults: (date: string) => call<MyConsults>('my_consults', { date }),
  startConsultation: (start: StartConsultation) => call<Consultation>('start_consultation', { start }),
  consultationView: (id: string) => call<ConsultationView>('consultation_view', { id }),
  saveConsultationDraft: (id: string, draft: ConsultationDraft) => call<DraftSaved>('save_consultation_draft', { id, draft }),
  signConsultation: (id: string, password: string, confirmUnusualVitals: boolean) =>
    call<Consultation>('sign_consultation', { id, password, confirmUnusualVitals }),
  addAddendum: (consultation: string, addendum: NewAddendum) => call<Addendum>('add_addendum', { consultation, addendum }),
  voidRecord: (entity: Voidable, id: string, reason: string) => call<null>('void_record', { entity, id, reason }),
  patientHistory: (patient: string) => call<PatientHistory>('patient_history', { patient }),
  findProducts: (query: string) => call<Product[]>('find_products', { query }),
  /** Every problem with a prescription as it stands (the form's live checks). */
  checkPrescription: (prescription: NewPrescription) => call<Problem[]>('check_prescription', { prescription }),
  prescribe: (prescription: NewPrescription) => call<Prescribed>('prescribe', { prescription }),
  dispense: (prescription: string, dispensing: NewDispensing) => call<Dispensing>('dispense', { prescription, dispensing }),
  /** Saves the label PDF and returns its path. */
  printLabel: (prescription: string, dispensing: string) => call<string>('print_label', { prescription, dispensing }),
  /** Saves the written prescription PDF and returns its path. */
  printPrescription: (prescription: string) => call<string>('print_prescription', { prescription }),
  addCharge: (charge: NewCharge) => call<Charge>('add_charge', { charge }),
  cdRegister: (premises: string | null) => call<CdRegister>('cd_register', { premises }),
  cdEntries: (premises: string, product: string) => call<CdEntry[]>('cd_entries', { premises, product }),
  recordCdEntry: (entry: NewCdEntry) => call<CdEntry>('record_cd_entry', { entry }),
  // Lab work.
  /** The practice's tests; with `all`, those taken off the list too. */
  labTests: (all: boolean) => call<LabTest[]>('lab_tests', { all }),
  saveLabTest: (test: LabTestInput) => call<LabTest>('save_lab_test', { test }),
  requestLabWork: (request: NewLabRequest) => call<LabRequest>('request_lab_work', { request }),
  /** `filePath`: the lab's PDF or image, chosen with the file dialog (at most 2 MB). */
  recordLabResult: (result: NewLabResult, filePath: string | null) =>
    call<LabResult>('record_lab_result', { result, filePath }),
  /** Requests still waiting for a result: the signed-in person's (`mine`) or the practice's. */
  labAwaited: (mine: boolean) => call<LabAwaited>('lab_awaited', { mine }),
  /** The rows to start a result with: the last result of the same test's names, units and ranges. */
  labResultTemplate: (request: string) => call<LabValueInput[]>('lab_result_template', { request }),
  /** Saves a result's file in the exports folder and returns its path. */
  saveLabAttachment: (result: string) => call<string>('save_lab_attachment', { result }),
  // Numbers people can read.
  numberBlocks: () => call<NumberBlocks>('number_blocks'),
  addNumberBlock: (kind: NumberKind, first: number, last: number) => call<NumberBlock>('add_number_block', { kind, first, last }),

  // Payments, takings and claims.
  clientAccount: (client: string) => call<ClientAccount>('client_account', { client }),
  takePayment: (payment: NewPayment) => call<Payment>('take_payment', { payment }),
  runCardPayment: (payment: string, approved: boolean, reference: string) =>
    call<Payment>('run_card_payment', { payment, approved, reference }),
  /** `day`: a London date, YYYY-MM-DD; `counted`: pounds as typed. */
  cashUp: (day: string, counted: string, note: string) => call<CashUp>('cash_up', { day, counted, note }),
  recordClaim: (claim: NewClaim) => call<Claim>('record_claim', { claim }),
  takings: (day: string) => call<Takings>('takings', { day }),
  /** Saves the receipt PDF and returns its path. */
  printReceipt: (payment: string) => call<string>('print_receipt', { payment }),

  // The continuity pack.
  continuityStatus: () => call<PackStatus>('continuity_status'),
  /** `date`: a London date, YYYY-MM-DD, or null for the next working day. */
  makeContinuityPack: (date: string | null) => call<PackInfo>('make_continuity_pack', { date }),
  /** Saves a pack kept on this PC (`id`, or the last made) in the exports folder and returns its path. */
  saveContinuityPack: (id: string | null) => call<string>('save_continuity_pack', { id }),
  /** "HH:MM", or null to turn the evening pack off. */
  setContinuitySchedule: (time: string | null) => call<PackStatus>('set_continuity_schedule', { time }),
  /** Adds the starter formulary, price list and lab tests, or what of them the practice lacks. */
  addStarterLists: () => call<StarterLists>('add_starter_lists'),

  // Sync: status, servers, the relay this PC may host, conflicts, bundles and hand-overs.
  syncOverview: () => call<SyncOverview>('sync_overview'),
  syncNow: () => call<null>('sync_now'),
  hostRelay: (port: number) => call<null>('host_relay', { port }),
  stopHostingRelay: () => call<null>('stop_hosting_relay'),
  pairingCode: () => call<PairingInfo>('pairing_code'),
  revokeDevice: (device: string) => call<null>('revoke_device', { device }),
  pairServer: (address: string, code: string, name: string) => call<Peer>('pair_server', { address, code, name }),
  /** A new PC joins a practice through its relay, before anyone can log in here. */
  joinPractice: (address: string, code: string) => call<null>('join_practice', { address, code }),
  setServerEnabled: (id: string, enabled: boolean) => call<Peer>('set_server_enabled', { id, enabled }),
  removeServer: (id: string) => call<null>('remove_server', { id }),
  conflictInbox: (openOnly: boolean) => call<ConflictView[]>('conflict_inbox', { openOnly }),
  resolveConflict: (id: string, resolution: Resolution, note: string) => call<Conflict>('resolve_conflict', { id, resolution, note }),
  /** Writes a bundle into the exports folder: what `server` lacks, or everything when null. */
  exportBundle: (server: string | null, passphrase: string) => call<BundleWritten>('export_bundle', { server, passphrase }),
  importBundle: (path: string, passphrase: string) => call<BundleRead>('import_bundle', { path, passphrase }),
  previewImport: (kind: ImportKind, path: string, mapping: ImportOptions['mapping']) =>
    call<Preview>('preview_import', { kind, path, mapping }),
  /** Imports a PMS export; `progress` hears how far it has got while it runs. */
  importFile: (kind: ImportKind, path: string, options: ImportOptions, progress: (p: ImportProgress) => void) => {
    const onProgress = new Channel<ImportProgress>();
    onProgress.onmessage = progress;
    return call<ImportDone>('import_file', { kind, path, options, onProgress });
  },
  /** Writes a CSV export into the exports folder; `since` (YYYY-MM-DD) keeps what changed from then. */
  exportCsv: (kind: ImportKind, since: string | null, progress: (p: ImportProgress) => void) =>
    call<ExportWritten>('export_csv', { kind, since, onProgress: channel(progress) }),
  /** Records when the outage began (London wall-clock "YYYY-MM-DDTHH:MM:SS"), or clears it. */
  setOutageBegan: (at: string | null) => call<string | null>('set_outage_began', { at }),
  backlog: () => call<Backlog>('backlog'),
  ledger: (filter: LedgerFilter) => call<Ledger>('ledger', { filter }),
  /** Writes the back-entry worklist (PDF) into the exports folder. */
  exportWorklist: (progress: (p: ImportProgress) => void) => call<ExportWritten>('export_worklist', { onProgress: channel(progress) }),
  /** Writes the backlog as a FHIR R4 transaction Bundle (JSON) into the exports folder. */
  exportFhir: (progress: (p: ImportProgress) => void) => call<ExportWritten>('export_fhir', { onProgress: channel(progress) }),
  duplicates: () => call<Duplicates>('duplicates'),
  decideDuplicates: (kind: string, first: string, second: string, decision: Decision) =>
    call<null>('decide_duplicates', { kind, first, second, decision }),
  /** Merges `merge` into `keep` (kind "client" or "patient"). */
  mergeRecords: (kind: string, keep: string, merge: string) => call<null>('merge_records', { kind, keep, merge }),
  closingStatus: () => call<ClosingStatus>('closing_status'),
  /** Closes the outage; returns the path of the signed final export. */
  closeOutage: (purgeAfterDays: number) => call<string>('close_outage', { purgeAfterDays }),
  purgeCopies: () => call<PurgeCounts>('purge_copies'),
  markEntered: (marks: EnteredMark[]) => call<Marked>('mark_entered', { marks }),
  markVerified: (ids: string[]) => call<Marked>('mark_verified', { ids }),
  /** Marks records entered from a CSV of Lifeboat ids and PMS numbers. */
  markEnteredFromFile: (path: string) => call<Marked>('mark_entered_from_file', { path }),
  handoverDestinations: () => call<Destination[]>('handover_destinations'),
  sendHandover: (patient: string, server: string, practice: string, practiceName: string, note: string) =>
    call<Handover>('send_handover', { patient, server, practice, practiceName, note }),
  /** Writes a hand-over file into the exports folder and returns its path. */
  exportHandover: (patient: string, toName: string, note: string, passphrase: string) =>
    call<string>('export_handover', { patient, toName, note, passphrase }),
  handovers: () => call<Handover[]>('handovers'),
  updateClient: (id: string, details: NewClient) => call<Client>('update_client', { id, details }),

  // Drills: practice on a copy of the records.
  /** This PC's drills, the running one first, with their reports (managers). */
  drills: () => call<Drill[]>('drills'),
  /** Copies the records and works on the copy, marked DRILL, until the drill ends (managers). */
  startDrill: (plan: DrillPlan) => call<Drill>('start_drill', { plan }),
  /** How the running drill stands: each task's time and who did it. */
  drillProgress: () => call<DrillReport>('drill_progress'),
  /** Ends the drill: keeps its report, goes back to the real records and deletes the copy (managers). */
  endDrill: () => call<Drill>('end_drill'),

  // Printed and exported files.
  exportsSettings: () => call<ExportsSettings>('exports_settings'),
  /** `folder`: an absolute path, or null for the standard one; `keepDays`: 0 keeps files until deleted. */
  setExportsSettings: (folder: string | null, keepDays: number) =>
    call<ExportsSettings>('set_exports_settings', { folder, keepDays }),

  // Backups of this PC's database, and restoring one.
  backupsOverview: () => call<BackupsOverview>('backups_overview'),
  backUpNow: () => call<BackupsOverview>('back_up_now'),
  /** `folder`: an absolute path for copies (a USB stick), or null for none. */
  setBackupCopyFolder: (folder: string | null) => call<BackupsOverview>('set_backup_copy_folder', { folder }),
  inspectBackup: (path: string, recoveryKey: string | null = null) => call<BackupSummary>('inspect_backup', { path, recoveryKey }),
  /** Checks the backup, then restarts the app, which puts it in place before opening anything. */
  restoreBackup: (path: string, recoveryKey: string | null = null) => call<void>('restore_backup', { path, recoveryKey }),
  /** Only when the database's creation was interrupted: moves the key file aside and restarts. */
  startAfresh: () => call<void>('start_afresh'),
};
