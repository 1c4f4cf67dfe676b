/**
 * A raw attacker client: speaks the Hocuspocus wire protocol over `ws` by hand, keeps a Yjs replica
 * of each document it opens, and can send any bytes it likes (forged updates, garbage, floods).
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { waitFor } from './server.ts';

const T = { Sync: 0, Awareness: 1, Auth: 2, SyncReply: 4, Close: 7, SyncStatus: 8, Ping: 9 } as const;
const SYNC = { Step1: 0, Step2: 1, Update: 2 } as const;

export interface RawDoc {
  name: string;
  doc: Y.Doc;
  authenticated: boolean;
  denied: string | null;
  closed: string | null;
  statuses: boolean[];
  synced: boolean;
}

export class RawClient {
  ws: WebSocket;
  docs = new Map<string, RawDoc>();
  socketClosed: { code: number; reason: string } | null = null;
  opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    this.ws.on('message', (data: Buffer) => this.onMessage(new Uint8Array(data)));
    this.ws.on('close', (code, reason) => (this.socketClosed = { code, reason: reason.toString() }));
  }

  private frame(name: string, write: (e: encoding.Encoder) => void): Uint8Array {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, name);
    write(e);
    return encoding.toUint8Array(e);
  }

  sendRaw(bytes: Uint8Array) {
    this.ws.send(bytes);
  }

  /** Authenticates one document and runs the initial sync; resolves when the server answered. */
  async open(name: string, token: string, { sync = true } = {}): Promise<RawDoc> {
    await this.opened;
    const d: RawDoc = { name, doc: new Y.Doc(), authenticated: false, denied: null, closed: null, statuses: [], synced: false };
    this.docs.set(name, d);
    this.ws.send(this.frame(name, (e) => {
      encoding.writeVarUint(e, T.Auth);
      encoding.writeVarUint(e, 0);
      encoding.writeVarString(e, token);
    }));
    await waitFor(() => d.authenticated || d.denied !== null || this.socketClosed !== null, { message: `auth of ${name}` });
    if (d.authenticated && sync) {
      this.ws.send(this.frame(name, (e) => {
        encoding.writeVarUint(e, T.Sync);
        encoding.writeVarUint(e, SYNC.Step1);
        encoding.writeVarUint8Array(e, Y.encodeStateVector(d.doc));
      }));
      await waitFor(() => d.synced, { message: `sync of ${name}` });
    }
    return d;
  }

  /** Sends an update as a sync Update message; returns the doc record to inspect the answer. */
  sendUpdate(name: string, update: Uint8Array, kind: 'update' | 'step2' = 'update') {
    this.ws.send(this.frame(name, (e) => {
      encoding.writeVarUint(e, T.Sync);
      encoding.writeVarUint(e, kind === 'update' ? SYNC.Update : SYNC.Step2);
      encoding.writeVarUint8Array(e, update);
    }));
  }

  /** Builds an update from a change made on a scratch copy of the replica (as a modified client would). */
  craft(name: string, change: (doc: Y.Doc) => void, clientId?: number): Uint8Array {
    const replica = this.docs.get(name)!.doc;
    const scratch = new Y.Doc();
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(replica));
    // set after loading: Yjs renames a local client id that it sees in remote content
    if (clientId !== undefined) scratch.clientID = clientId;
    const before = Y.encodeStateVector(scratch);
    change(scratch);
    return Y.encodeStateAsUpdate(scratch, before);
  }

  /** Sends a crafted update and waits for the verdict: accepted (status true) or closed with a reason. */
  async attempt(name: string, update: Uint8Array, kind: 'update' | 'step2' = 'update'): Promise<{ accepted: boolean; reason: string | null }> {
    const d = this.docs.get(name)!;
    const n = d.statuses.length;
    this.sendUpdate(name, update, kind);
    await waitFor(() => d.statuses.length > n || d.closed !== null || this.socketClosed !== null, { message: `verdict on ${name}` });
    return { accepted: d.statuses.length > n && d.statuses[n] === true && d.closed === null, reason: d.closed ?? this.socketClosed?.reason ?? null };
  }

  private onMessage(data: Uint8Array) {
    const dec = decoding.createDecoder(data);
    if (data.length === 1 && data[0] === T.Ping) return;
    const name = decoding.readVarString(dec);
    const d = this.docs.get(name.split('\0')[0]);
    if (!d) return;
    const type = decoding.readVarUint(dec);
    switch (type) {
      case T.Auth: {
        const sub = decoding.readVarUint(dec);
        if (sub === 2) d.authenticated = true;
        else if (sub === 1) d.denied = decoding.readVarString(dec);
        break;
      }
      case T.Sync:
      case T.SyncReply: {
        const sub = decoding.readVarUint(dec);
        if (sub === SYNC.Step2 || sub === SYNC.Update) {
          Y.applyUpdate(d.doc, decoding.readVarUint8Array(dec), 'server');
          if (sub === SYNC.Step2) d.synced = true;
        }
        break;
      }
      case T.SyncStatus:
        d.statuses.push(decoding.readVarUint(dec) === 1);
        break;
      case T.Close:
        d.closed = decoding.readVarString(dec);
        break;
    }
  }

  close() {
    this.ws.terminate();
  }
}
