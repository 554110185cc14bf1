// The only code in the UI that talks to the back end. Every other component calls these typed
// functions; the types are generated from the Rust types (see types/, never edit them by hand).
import { invoke } from '@tauri-apps/api/core';
import type { AppStatus } from './types/AppStatus';
import type { CommandError } from './types/CommandError';
import type { NewStaff } from './types/NewStaff';
import type { Practice } from './types/Practice';
import type { PracticeSetup } from './types/PracticeSetup';
import type { Session } from './types/Session';
import type { Staff } from './types/Staff';
import type { StaffUpdate } from './types/StaffUpdate';
import type { SyncStatus } from './types/SyncStatus';

export type { AppStatus, CommandError, NewStaff, Practice, PracticeSetup, Session, Staff, StaffUpdate, SyncStatus };
export type { Role } from './types/Role';
export type { NewPremises } from './types/NewPremises';

/** A refusal from the back end: `code` to act on, `message` to show, `field` to highlight. */
export class ApiError extends Error {
  readonly code: string;
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
    throw new ApiError({ code: 'ipc', message: `Lifeboat's back end did not answer (${String(e)}). Restart the app.`, field: null });
  }
}

export const api = {
  appStatus: () => call<AppStatus>('app_status'),
  setupPractice: (setup: PracticeSetup) => call<null>('setup_practice', { setup }),
  login: (username: string, password: string) => call<Session>('login', { username, password }),
  logout: () => call<null>('logout'),
  syncStatus: () => call<SyncStatus>('sync_status'),
  practice: () => call<Practice | null>('practice'),
  listStaff: () => call<Staff[]>('list_staff'),
  addStaff: (staff: NewStaff) => call<Staff>('add_staff', { staff }),
  updateStaff: (id: string, update: StaffUpdate) => call<Staff>('update_staff', { id, update }),
};
