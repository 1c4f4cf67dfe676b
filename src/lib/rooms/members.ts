/** The member list as shown: admins first, then by name in the UI language's order. */
export interface ShownMember {
  id: string;
  name: string;
  username: string;
  role: 'admin' | 'member';
  /** Profile photo version, when the member has one. */
  avatarAt?: number;
}

export function sortMembers(members: ShownMember[], locale: string): ShownMember[] {
  const collator = new Intl.Collator(locale, { sensitivity: 'base', numeric: true });
  return [...members].sort((a, b) => Number(b.role === 'admin') - Number(a.role === 'admin') || collator.compare(a.name, b.name) || a.id.localeCompare(b.id));
}
