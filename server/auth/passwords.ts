/** argon2id password hashing (OWASP-recommended parameters are @node-rs/argon2's defaults). */
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id (a const enum we cannot import under verbatimModuleSyntax)
const ARGON2ID = 2;

export const hashPassword = (password: string) => hash(password, { algorithm: ARGON2ID });

export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (!stored) return false;
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A hash of a random password, verified against when the user does not exist (equal timing). */
let dummy: Promise<string> | null = null;
export const dummyHash = () => (dummy ??= hashPassword('dummy-password-1'));
