/**
 * The onboarding admin credential the worker uses for WinRM (not monosync_svc: that account only
 * needs Remote Management Users), read from its environment. Without one
 * the worker connects as its own Kerberos identity (a gMSA, say), which is the safer setup: no
 * password exists anywhere.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { accountSchema } from '../domain/validators';

export const SERVICE_CREDENTIAL_ENV = {
  user: 'FLEET_ADMIN_USER',
  password: 'FLEET_ADMIN_PASSWORD',
  passwordFile: 'FLEET_ADMIN_PASSWORD_FILE',
} as const;

/** The password lives in a private field so that logging, JSON or inspecting the object never shows it. */
export class ServiceCredential {
  readonly #password: string;
  constructor(
    readonly user: string,
    password: string
  ) {
    this.#password = password;
  }
  revealPassword(): string {
    return this.#password;
  }
  toJSON(): { user: string; password: string } {
    return { user: this.user, password: '***' };
  }
  toString(): string {
    return `ServiceCredential(${this.user})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Monosync's own service account (the fleet's serviceAccount), which the acceptance test acts as: only a
 * session that account opens proves its membership of Remote Management Users. Optional: without it,
 * a worker that does not run as that account reports the membership as not proven.
 */
export const SERVICE_ACCOUNT_CREDENTIAL_ENV = {
  user: 'FLEET_SERVICE_ACCOUNT_USER',
  password: 'FLEET_SERVICE_ACCOUNT_PASSWORD',
  passwordFile: 'FLEET_SERVICE_ACCOUNT_PASSWORD_FILE',
} as const;

type CredentialVariables = { readonly user: string; readonly password: string; readonly passwordFile: string };

export function readServiceCredential(env: NodeJS.ProcessEnv = process.env): ServiceCredential | null {
  return readCredential(env, SERVICE_CREDENTIAL_ENV);
}

export function readServiceAccountCredential(env: NodeJS.ProcessEnv = process.env): ServiceCredential | null {
  return readCredential(env, SERVICE_ACCOUNT_CREDENTIAL_ENV);
}

function readCredential(env: NodeJS.ProcessEnv, variables: CredentialVariables): ServiceCredential | null {
  const { user: userVar, password: passwordVar, passwordFile: fileVar } = variables;
  const user = env[userVar]?.trim();
  const password = env[passwordVar];
  const file = env[fileVar]?.trim();
  if (!user) {
    if (password || file)
      throw new Error(`${passwordVar}/${fileVar} is set but ${userVar} is not: set both or neither`);
    return null;
  }
  const account = accountSchema.safeParse(user);
  if (!account.success) {
    throw new Error(`${userVar} is not an account name: write DOMAIN\\user or user@corp.example`);
  }
  if (password && file) throw new Error(`set only one of ${passwordVar} and ${fileVar}`);
  if (password) return new ServiceCredential(account.data, password);
  if (!file) throw new Error(`${userVar} is set but neither ${passwordVar} nor ${fileVar} is`);
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
    throw new Error(`${fileVar} names ${JSON.stringify(file)}, which cannot be read (${reason})`, { cause: err });
  }
  if (!secret) throw new Error(`${fileVar} names ${JSON.stringify(file)}, which is empty`);
  return new ServiceCredential(account.data, secret);
}
