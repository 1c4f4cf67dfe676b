/**
 * The account rules the forms check before asking the server (the same as server/domain/accounts.ts),
 * so that every field's problem shows at once. The server still decides.
 */
export const USERNAME = /^[A-Za-z0-9_]{3,20}$/;

/** The error code the server would answer for this new password, or null. */
export function checkNewPassword(password: string): 'weak-password' | null {
  return password.length < 8 || password.length > 200 || !/[A-Za-z]/.test(password) || !/[0-9]/.test(password) ? 'weak-password' : null;
}

export function checkUsername(username: string): 'invalid-username' | null {
  return USERNAME.test(username) ? null : 'invalid-username';
}
