import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Severity, Tlp, TriageStatus, type Alert, type TriageStatus as Status } from '@soc/schema';
import { SocError } from '@soc/errors';

/**
 * Triage, audit trail and cases: the schemas and the pure rules both adapters share, so the
 * workflow is defined once and the adapters only store it.
 */

/**
 * The status workflow: new → acknowledged → in_progress → resolved | false_positive; an alert
 * may be dismissed as a false positive from any open state, and a closed one is reopened to
 * acknowledged.
 */
export const TRANSITIONS: Record<Status, readonly Status[]> = {
  new: ['acknowledged', 'false_positive'],
  acknowledged: ['in_progress', 'false_positive'],
  in_progress: ['resolved', 'false_positive'],
  resolved: ['acknowledged'],
  false_positive: ['acknowledged'],
};

export const isReopen = (from: Status, to: Status) => (from === 'resolved' || from === 'false_positive') && to === 'acknowledged';

/** A change the store refuses because of the current state (HTTP 409). */
export class ConflictError extends SocError {
  readonly status = 409;
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

export function assertTransition(from: Status, to: Status): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw new ConflictError(`status cannot go from ${from} to ${to} (allowed: ${TRANSITIONS[from].join(', ') || 'none'})`);
  }
}

const Timestamp = z.iso.datetime({ offset: true });
const UserName = z.string().min(1).max(128);

export const TriageChange = z
  .object({
    status: TriageStatus.optional(),
    /** A user name, or null to unassign. */
    assignee: UserName.nullable().optional(),
    comment: z.string().trim().min(1).max(8000).optional(),
  })
  .strict()
  .refine((c) => c.status !== undefined || c.assignee !== undefined || c.comment !== undefined, 'nothing to change: give status, assignee or comment');
export type TriageChange = z.infer<typeof TriageChange>;

export const AUDIT_ACTIONS = ['status', 'assign', 'comment', 'case_create', 'case_update', 'case_link', 'case_unlink', 'case_note'] as const;

/** One append-only record: who did what to which alert or case, and when. */
export const AuditEntry = z.object({
  id: z.string(),
  at: Timestamp,
  actor: UserName,
  target: z.object({ kind: z.enum(['alert', 'case']), id: z.string() }),
  action: z.enum(AUDIT_ACTIONS),
  from: z.string().nullable().optional(),
  to: z.string().nullable().optional(),
  text: z.string().optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = z.object({
  target_kind: z.enum(['alert', 'case']).optional(),
  target_id: z.string().max(128).optional(),
  actor: UserName.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const CASE_STATUSES = ['open', 'in_progress', 'closed'] as const;
export const CaseStatus = z.enum(CASE_STATUSES);

export const CaseNote = z.object({ at: Timestamp, author: UserName, text: z.string().max(8000) });

export const Case = z.object({
  id: z.string(),
  title: z.string().trim().min(1).max(256),
  description: z.string().max(8000).default(''),
  severity: Severity,
  tlp: Tlp,
  status: CaseStatus,
  assignee: UserName.nullable(),
  alert_ids: z.array(z.string().max(128)).max(1000),
  notes: z.array(CaseNote).max(1000),
  created_at: Timestamp,
  created_by: UserName,
  updated_at: Timestamp,
});
export type Case = z.infer<typeof Case>;

export const CaseInput = z
  .object({
    title: z.string().trim().min(1).max(256),
    description: z.string().max(8000).default(''),
    severity: Severity.default('medium'),
    tlp: Tlp.default('AMBER'),
    assignee: UserName.nullable().default(null),
    alert_ids: z.array(z.string().min(1).max(128)).max(1000).default([]),
  })
  .strict();
export type CaseInput = z.input<typeof CaseInput>;

export const CasePatch = z
  .object({
    title: z.string().trim().min(1).max(256).optional(),
    description: z.string().max(8000).optional(),
    severity: Severity.optional(),
    tlp: Tlp.optional(),
    status: CaseStatus.optional(),
    assignee: UserName.nullable().optional(),
    add_alerts: z.array(z.string().min(1).max(128)).max(1000).optional(),
    remove_alerts: z.array(z.string().min(1).max(128)).max(1000).optional(),
    note: z.string().trim().min(1).max(8000).optional(),
  })
  .strict();
export type CasePatch = z.infer<typeof CasePatch>;

export const CaseQuery = z.object({
  status: CaseStatus.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type CaseQuery = z.infer<typeof CaseQuery>;

/** Runs inside the store's atomic section with the current alert: throws to refuse (role policy). */
export type TriageGuard = (current: Alert, change: TriageChange) => void;

let seq = 0;
/** Sortable unique id: time, a per-process counter (order within one change), randomness. */
export function auditId(atMs: number): string {
  seq = (seq + 1) % 1_679_616;
  return `${atMs.toString(36).padStart(9, '0')}-${seq.toString(36).padStart(4, '0')}-${randomBytes(5).toString('hex')}`;
}

export const newCaseId = (): string => `case-${randomUUID()}`;

/**
 * Applies a triage change to an alert: the new alert and the audit entries it records, or a
 * ConflictError. Unchanged values record nothing.
 */
export function applyTriage(current: Alert, change: TriageChange, actor: string, atMs: number): { alert: Alert; entries: AuditEntry[] } {
  const at = new Date(atMs).toISOString();
  const target = { kind: 'alert' as const, id: current.id };
  const entries: AuditEntry[] = [];
  const alert: Alert = { ...current };
  if (change.status !== undefined && change.status !== current.status) {
    assertTransition(current.status, change.status);
    alert.status = change.status;
    entries.push({ id: auditId(atMs), at, actor, target, action: 'status', from: current.status, to: change.status });
  }
  if (change.assignee !== undefined && change.assignee !== (current.assignee ?? null)) {
    if (change.assignee === null) delete alert.assignee;
    else alert.assignee = change.assignee;
    entries.push({ id: auditId(atMs), at, actor, target, action: 'assign', from: current.assignee ?? null, to: change.assignee });
  }
  if (change.comment !== undefined) entries.push({ id: auditId(atMs), at, actor, target, action: 'comment', text: change.comment });
  return { alert, entries };
}

export function newCase(input: CaseInput, actor: string, atMs: number): { kase: Case; entries: AuditEntry[] } {
  const i = CaseInput.parse(input);
  const at = new Date(atMs).toISOString();
  const kase: Case = { id: newCaseId(), ...i, alert_ids: [...new Set(i.alert_ids)], status: 'open', notes: [], created_at: at, created_by: actor, updated_at: at };
  const target = { kind: 'case' as const, id: kase.id };
  const entries: AuditEntry[] = [{ id: auditId(atMs), at, actor, target, action: 'case_create', to: kase.title }];
  for (const a of kase.alert_ids) entries.push({ id: auditId(atMs), at, actor, target, action: 'case_link', to: a });
  return { kase, entries };
}

const CASE_FIELDS = ['title', 'description', 'severity', 'tlp', 'status', 'assignee'] as const;

export function applyCasePatch(current: Case, patch: CasePatch, actor: string, atMs: number): { kase: Case; entries: AuditEntry[] } {
  const at = new Date(atMs).toISOString();
  const target = { kind: 'case' as const, id: current.id };
  const entries: AuditEntry[] = [];
  const kase: Case = { ...current, alert_ids: [...current.alert_ids], notes: [...current.notes] };
  for (const f of CASE_FIELDS) {
    const v = patch[f];
    if (v === undefined || v === current[f]) continue;
    (kase as Record<string, unknown>)[f] = v;
    entries.push({ id: auditId(atMs), at, actor, target, action: 'case_update', from: `${f}=${current[f] ?? ''}`, to: `${f}=${v ?? ''}` });
  }
  for (const a of patch.add_alerts ?? []) {
    if (kase.alert_ids.includes(a)) continue;
    if (kase.alert_ids.length >= 1000) throw new ConflictError('a case links at most 1000 alerts');
    kase.alert_ids.push(a);
    entries.push({ id: auditId(atMs), at, actor, target, action: 'case_link', to: a });
  }
  for (const a of patch.remove_alerts ?? []) {
    if (!kase.alert_ids.includes(a)) continue;
    kase.alert_ids = kase.alert_ids.filter((x) => x !== a);
    entries.push({ id: auditId(atMs), at, actor, target, action: 'case_unlink', from: a });
  }
  if (patch.note !== undefined) {
    if (kase.notes.length >= 1000) throw new ConflictError('a case holds at most 1000 notes');
    kase.notes.push({ at, author: actor, text: patch.note });
    entries.push({ id: auditId(atMs), at, actor, target, action: 'case_note', text: patch.note });
  }
  if (entries.length > 0) kase.updated_at = at;
  return { kase, entries };
}

/** Audit entries in the one order both stores return: by time, then id. */
export const compareAudit = (a: AuditEntry, b: AuditEntry) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
