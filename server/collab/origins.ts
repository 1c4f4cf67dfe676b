/** Typed transaction origins for server-side writes (Hocuspocus treats `source: 'local'` as local). */
export interface ServerOrigin {
  source: 'local';
  context: { server: 'head-mirror' | 'receipts' | 'move' | 'repair' };
}
export const serverOrigin = (kind: ServerOrigin['context']['server']): ServerOrigin => ({ source: 'local', context: { server: kind } });
