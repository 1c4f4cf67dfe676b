/**
 * How this server lets people sign in (`GET /api/auth/providers`): password, and the single sign-on
 * providers with their login URLs. Loaded once per page load; offline (or an older server) it stays
 * null, and the login page shows the password form alone.
 */
import { request } from '$lib/api/client.ts';

export interface SsoProvider {
  id: string;
  name: string;
  /** A full-page navigation (the server redirects to the provider). */
  loginUrl: string;
}

export interface AuthProvidersInfo {
  /** Password login for everyone; false in SSO-only mode. */
  password: boolean;
  /** SSO-only mode: server admins may still log in with a password. */
  breakGlass: boolean;
  oidc: SsoProvider[];
}

class AuthProviders {
  info = $state<AuthProvidersInfo | null>(null);
  private loading: Promise<void> | null = null;

  load(): Promise<void> {
    this.loading ??= request<AuthProvidersInfo>('GET', '/api/auth/providers')
      .then((info) => void (this.info = info))
      .catch(() => void (this.loading = null));
    return this.loading;
  }

  get sso(): SsoProvider[] {
    return this.info?.oidc ?? [];
  }

  /** Only single sign-on is offered (password login is for the break-glass admin). */
  get ssoOnly(): boolean {
    return this.info !== null && !this.info.password && this.sso.length > 0;
  }
}

export const authProviders = new AuthProviders();
