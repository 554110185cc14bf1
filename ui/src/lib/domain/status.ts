import type { AppointmentStatus } from '../api';

/** What the button that moves an appointment from one status to another says. */
export function actionLabel(from: AppointmentStatus, to: AppointmentStatus): string {
  if (to === 'arrived') return from === 'booked' ? 'Check in' : 'Back to waiting';
  if (to === 'in_consult') return from === 'done' ? 'Reopen' : 'Start consult';
  if (to === 'done') return 'Finish';
  if (to === 'no_show') return 'No-show';
  if (to === 'cancelled') return 'Cancel appointment';
  if (to === 'booked') return from === 'arrived' ? 'Undo check-in' : 'Undo no-show';
  return to;
}

export const statusLabels: Record<AppointmentStatus, string> = {
  booked: 'Booked', arrived: 'Arrived', in_consult: 'In consult', done: 'Done', no_show: 'No-show', cancelled: 'Cancelled',
};
