/**
 * Typed transaction origins. Hocuspocus applies a client's update with
 * `{ source: 'connection', connection }` and a direct connection's transaction with
 * `{ source: 'local', context }`; our direct connections carry `context.server` = the kind of write.
 */
import type { Connection } from '@hocuspocus/server';

export type ServerWriteKind = 'head-mirror' | 'user-mirror' | 'receipts' | 'move' | 'forward' | 'repair' | 'system-line' | 'read' | 'file-removed' | 'retention';

export interface ServerOrigin {
  source: 'local';
  context: { server: ServerWriteKind };
}
export const serverOrigin = (kind: ServerWriteKind): ServerOrigin => ({ source: 'local', context: { server: kind } });

export function isServerOrigin(origin: unknown): origin is ServerOrigin {
  const o = origin as ServerOrigin | null;
  return !!o && o.source === 'local' && typeof o.context?.server === 'string';
}

export function connectionOf(origin: unknown): Connection | null {
  const o = origin as { source?: string; connection?: Connection } | null;
  return o?.source === 'connection' && o.connection ? o.connection : null;
}
