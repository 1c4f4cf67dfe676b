/** The dashboard's sections: the nav, the tab bar and the page headers read them from here. */
export const ADMIN_SECTIONS = [
  // icons: 24×24 stroke paths
  { key: 'users', path: '/admin', icon: 'M16 19v-1.5a3.5 3.5 0 0 0-3.5-3.5h-5A3.5 3.5 0 0 0 4 17.5V19M10 10.5a3.25 3.25 0 1 0 0-6.5 3.25 3.25 0 0 0 0 6.5zM20 19v-1.5a3.5 3.5 0 0 0-2.5-3.35M15.5 4.2a3.25 3.25 0 0 1 0 6.1' },
  { key: 'rooms', path: '/admin/rooms', icon: 'M5 6.5A2.5 2.5 0 0 1 7.5 4h9A2.5 2.5 0 0 1 19 6.5v7a2.5 2.5 0 0 1-2.5 2.5H11l-4 3.5V16h.5A2.5 2.5 0 0 1 5 13.5z' },
  { key: 'settings', path: '/admin/settings', icon: 'M4 7h10M18 7h2M4 17h4M12 17h8M14 4.5v5M8 14.5v5' },
  { key: 'live', path: '/admin/live', icon: 'M3 12h4l2.5-6 5 12 2.5-6h4' },
  { key: 'health', path: '/admin/health', icon: 'M12 20s-7-4.35-7-10a4 4 0 0 1 7-2.65A4 4 0 0 1 19 10c0 5.65-7 10-7 10zM8.5 12h2l1-2 1.5 4 1-2h1.5' },
  { key: 'audit', path: '/admin/audit', icon: 'M8 4h8l3 3v13H5V4h3zM9 10h6M9 14h6M9 18h3' },
] as const;

export type AdminSectionKey = (typeof ADMIN_SECTIONS)[number]['key'];
