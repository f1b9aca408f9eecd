import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuthDb, USER_ROLES, UserRole } from '@soc/auth';
import { Role, loadConfig, newPassword } from '@soc/config';
import { UsageError, parseFlags } from './cli.ts';

/**
 * `soc users add|list|disable|enable|passwd|role` and `soc tokens create|list|revoke`: console
 * users and API/sensor tokens in DATA_DIR/auth.db, which the running services read on every
 * request, so changes apply at once. Secrets are printed once (stdout JSON) and stored hashed.
 */

function openAuth(values: { 'data-dir'?: string; config?: string }): AuthDb {
  const cfg = loadConfig({ file: values.config, overrides: values['data-dir'] ? { dataDir: values['data-dir'] } : {} });
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  return new AuthDb(join(cfg.dataDir, 'auth.db'));
}

const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');

/** A password from stdin (first line) when --password-stdin, else a generated one shown once. */
async function passwordFrom(stdin: boolean): Promise<{ password: string; generated: boolean }> {
  if (!stdin) return { password: newPassword(), generated: true };
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return { password: text.split(/\r?\n/)[0] ?? '', generated: false };
}

const COMMON = { 'data-dir': { type: 'string' }, config: { type: 'string' } } as const;

export async function usersCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...COMMON, role: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } }, 'users');
  const [sub, name] = positionals;
  const usage = `usage: soc users add NAME [--role ${USER_ROLES.join('|')}] [--password-stdin] | list | disable NAME | enable NAME | passwd NAME [--password-stdin] | role NAME ROLE`;
  if (!sub || (sub !== 'list' && !name)) throw new UsageError(usage, 'see soc users --help');
  const db = openAuth(values);
  try {
    switch (sub) {
      case 'add': {
        const role = UserRole.safeParse(values.role ?? 'analyst');
        if (!role.success) throw new UsageError(`--role is one of ${USER_ROLES.join(', ')}`, 'sensors use tokens: soc tokens create');
        const { password, generated } = await passwordFrom(values['password-stdin']);
        const user = await db.addUser(name!, role.data, password);
        out({ user, ...(generated ? { password } : {}) });
        return 0;
      }
      case 'list':
        out({ users: db.listUsers() });
        return 0;
      case 'disable':
      case 'enable':
        out({ user: db.setDisabled(name!, sub === 'disable') });
        return 0;
      case 'passwd': {
        const { password, generated } = await passwordFrom(values['password-stdin']);
        await db.setPassword(name!, password);
        out({ user: db.user(name!), ...(generated ? { password } : {}) });
        return 0;
      }
      case 'role': {
        const role = UserRole.safeParse(positionals[2]);
        if (!role.success) throw new UsageError(usage, 'see soc users --help');
        out({ user: db.setRole(name!, role.data) });
        return 0;
      }
      default:
        throw new UsageError(usage, 'see soc users --help');
    }
  } finally {
    db.close();
  }
}

export async function tokensCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...COMMON, role: { type: 'string' }, name: { type: 'string' } }, 'tokens');
  const [sub, id] = positionals;
  const usage = `usage: soc tokens create --name NAME --role ${Role.options.join('|')} | list | revoke ID`;
  const db = openAuth(values);
  try {
    switch (sub) {
      case 'create': {
        const role = Role.safeParse(values.role);
        if (!values.name || !role.success) throw new UsageError(usage, 'see soc tokens --help');
        const { token, info } = db.createToken(values.name, role.data);
        out({ token, ...info });
        return 0;
      }
      case 'list':
        out({ tokens: db.listTokens() });
        return 0;
      case 'revoke':
        if (!id) throw new UsageError(usage, 'see soc tokens --help');
        out({ token: db.revokeToken(id) });
        return 0;
      default:
        throw new UsageError(usage, 'see soc tokens --help');
    }
  } finally {
    db.close();
  }
}
