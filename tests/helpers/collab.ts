/** Real @hocuspocus/provider clients over one multiplexed socket, as the web app uses them. */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { SEGMENT_MESSAGES, SEGMENT_RECEIPTS, type Message, type Receipt } from '../../src/lib/protocol/schema.ts';
import { waitFor } from './server.ts';

export interface OpenDoc {
  doc: Y.Doc;
  provider: HocuspocusProvider;
  closes: string[];
  denied: string[];
}

export function connectSocket(wsUrl: string, opts: { headers?: Record<string, string> } = {}) {
  const Polyfill = opts.headers
    ? class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: opts.headers });
        }
      }
    : WebSocket;
  return new HocuspocusProviderWebsocket({ url: wsUrl, WebSocketPolyfill: Polyfill, delay: 100, minDelay: 50, maxDelay: 1000 } as never);
}

export async function openDoc(socket: HocuspocusProviderWebsocket, name: string, token: string, { wait = true } = {}): Promise<OpenDoc> {
  const doc = new Y.Doc();
  const closes: string[] = [];
  const denied: string[] = [];
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name,
    document: doc,
    token,
    awareness: null,
    onClose: ({ event }) => {
      // transient (PROTOCOL.md): re-authenticate and re-sync the document, keeping local state
      if (event.reason === 'missing-dependency' || event.reason === 'resync') setTimeout(() => resync(provider), 20);
      else if (event.reason) closes.push(event.reason);
    },
    onAuthenticationFailed: ({ reason }) => void denied.push(reason),
  });
  provider.attach();
  if (wait) {
    await waitFor(() => provider.isSynced || denied.length > 0, { message: `sync of ${name}` }).catch((e) => {
      throw new Error(`${e.message} (socket ${socket.status}, authenticated ${provider.isAuthenticated}, closes ${closes}, denied ${denied})`);
    });
  }
  return { doc, provider, closes, denied };
}

/** Re-authenticates one document on the open socket and runs the sync handshake again. */
export function resync(provider: HocuspocusProvider) {
  void provider.onOpen(new Event('open'));
}

let seq = 0;
export const newId = () => `m${Date.now().toString(36)}${(++seq).toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export function post(doc: Y.Doc, author: string, text: string, extra: Partial<Message> = {}): string {
  const id = extra.id ?? newId();
  doc.getMap<Message>(SEGMENT_MESSAGES).set(id, { id, author, text, createdAt: Date.now(), ...extra });
  return id;
}

export const messagesOf = (doc: Y.Doc) => doc.getMap<Message>(SEGMENT_MESSAGES);
export const receiptsOf = (doc: Y.Doc) => doc.getMap<Receipt>(SEGMENT_RECEIPTS);

/** Resolves when the provider has no unacknowledged changes (the server has them durably). */
export const acked = (p: HocuspocusProvider) => waitFor(() => !p.hasUnsyncedChanges, { message: 'acknowledgement' });
