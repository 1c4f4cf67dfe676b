/**
 * The reload race (issue 7, item 6), deterministic: a device writes offline, the page reloads (a new
 * Y.Doc with a new Yjs client id, loaded from the state the previous page left in IndexedDB), and
 * the new page writes at once when its socket opens, before its sync step 2 (the frame that carries
 * the previous page's writes) has left. Real server, real provider clients in node, the web app's
 * socket and provider (`LocalFirstSocket`, `LocalFirstProvider`).
 *
 * Checked: the server's receipt seqs follow the writing order; the provider's unsynced counter never
 * reads 0 and `synced` never comes while a written message is not on the server.
 *
 * The control runs the same with the library's `HocuspocusProvider` on the same socket: the new
 * page's writes go out as update frames before the step 2 and get the smaller seqs, and the counter
 * reads 0 before the step 2 has even left. That is the defect the app's provider closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { HocuspocusProvider } from '@hocuspocus/provider';
import { LocalFirstSocket } from '../../src/lib/collab/local-first-socket.ts';
import { LocalFirstProvider } from '../../src/lib/collab/local-first-provider.ts';
import { startServer, makeUser, makeRoom, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { readServerDoc } from '../../server/collab/server-writes.ts';
import { SEGMENT_MESSAGES, SEGMENT_RECEIPTS, segmentName, type Message, type Receipt } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startServer();
  alice = await makeUser(server);
  bob = await makeUser(server);
});
afterAll(async () => {
  await server?.close();
});

type ProviderClass = typeof HocuspocusProvider;
/** When the new page writes: as the socket opens (before Auth), or once authenticated (before step 1 arrives). */
type Moment = 'open' | 'authenticated';

interface Page {
  doc: Y.Doc;
  socket: LocalFirstSocket;
  provider: HocuspocusProvider;
  /** Moments the delivery state claimed more than the server had. */
  dishonest: string[];
  destroy(): void;
}

class Writer {
  /** Writing order (both pages). */
  ids: string[] = [];
  private lastCreatedAt = 0;
  constructor(private readonly tag: string) {}

  write(doc: Y.Doc, n: number) {
    for (let i = 0; i < n; i++) {
      const id = `${this.tag}-${String(this.ids.length + 1).padStart(2, '0')}`;
      // as the web app: createdAt never repeats or goes back on one device
      this.lastCreatedAt = Math.max(Date.now(), this.lastCreatedAt + 1);
      this.ids.push(id);
      doc.getMap<Message>(SEGMENT_MESSAGES).set(id, { id, author: alice.id, text: `#${this.ids.length}`, createdAt: this.lastCreatedAt });
    }
  }
}

/** A page: its Y.Doc (from the stored state, if any), the web app's socket (not connected yet), one provider. */
function openPage(Provider: ProviderClass, name: string, writer: Writer, stored: Uint8Array | null, onMoment?: { moment: Moment; write: (doc: Y.Doc) => void }): Page {
  const doc = new Y.Doc();
  // y-indexeddb applies the stored state before the provider exists (SyncedDoc): not an update to send
  if (stored) Y.applyUpdate(doc, stored);
  const socket = new LocalFirstSocket({ url: server.wsUrl, WebSocketPolyfill: WebSocket, autoConnect: false, delay: 100, minDelay: 50, maxDelay: 1000 } as never);
  const provider = new Provider({ websocketProvider: socket, name, document: doc, token: alice.token, awareness: null });
  const dishonest: string[] = [];
  const onServer = () => server.app.collab.hocuspocus.documents.get(name)?.getMap<Message>(SEGMENT_MESSAGES);
  // the ack passes the server's output gate after the commit: the server's document has it by then
  const check = (what: string) => {
    const missing = writer.ids.filter((id) => !onServer()?.has(id));
    if (missing.length) dishonest.push(`${what} while ${missing.length} written message(s) were not on the server (${missing[0]}…)`);
  };
  provider.on('unsyncedChanges', ({ number }: { number: number }) => number === 0 && check('unsynced changes 0'));
  provider.on('synced', () => check('synced'));
  if (onMoment) {
    let done = false;
    provider.on(onMoment.moment, () => {
      if (done) return;
      done = true;
      onMoment.write(doc);
    });
  }
  provider.attach();
  return {
    doc,
    socket,
    provider,
    dishonest,
    destroy() {
      provider.destroy();
      socket.destroy();
    },
  };
}

/** The server's receipts of the given messages, once all are there. */
async function serverSeqs(name: string, ids: string[]): Promise<Map<string, number>> {
  const seqs = await waitFor(
    () =>
      readServerDoc(server.app.collab.hocuspocus, name, (doc) => {
        const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
        if (!ids.every((id) => receipts.has(id))) return null;
        return new Map(ids.map((id) => [id, receipts.get(id)!.seq]));
      }),
    { timeout: 10_000, message: 'receipts of every message' },
  );
  return seqs!;
}

/** The ids in the order of their seqs. */
const bySeq = (seqs: Map<string, number>) => [...seqs].sort((a, b) => a[1] - b[1]).map(([id]) => id);

const settled = (p: HocuspocusProvider) => waitFor(() => p.isSynced && p.unsyncedChanges === 0, { timeout: 10_000, message: 'synced with nothing unsynced' });

/**
 * Page 1 syncs, goes offline and writes `offline` messages; its state is kept (IndexedDB). Page 2
 * opens from it with a new client id and writes `after` messages: offline first (`moment` absent,
 * then it goes online), or at once when its socket opens.
 */
async function reload(Provider: ProviderClass, tag: string, offline: number, after: number, moment?: Moment) {
  const room = await makeRoom(alice, [bob], { name: tag });
  const name = segmentName(room.id, room.openSegment);
  const writer = new Writer(tag);

  const first = openPage(Provider, name, writer, null);
  void first.socket.connect();
  await settled(first.provider);
  first.socket.disconnect();
  await waitFor(() => first.socket.status === 'disconnected', { message: 'offline' });
  writer.write(first.doc, offline);
  const stored = Y.encodeStateAsUpdate(first.doc); // what IndexedDB holds
  const oldClient = first.doc.clientID;
  first.destroy();

  const second = openPage(Provider, name, writer, stored, moment && { moment, write: (doc) => writer.write(doc, after) });
  if (!moment) writer.write(second.doc, after); // still offline
  void second.socket.connect();
  expect(second.doc.clientID).not.toBe(oldClient);
  await waitFor(() => writer.ids.length === offline + after, { message: 'the new page wrote' });
  await settled(second.provider);
  const seqs = await serverSeqs(name, writer.ids);
  second.destroy();
  return { order: writer.ids, bySeq: bySeq(seqs), dishonest: [...first.dishonest, ...second.dishonest] };
}

describe('offline order across a reload (issue 7, item 6)', () => {
  it('15 offline, reload offline, 5 more, online: one step 2 with two client ids, seqs in writing order', async () => {
    const r = await reload(LocalFirstProvider, 'both-offline', 15, 5);
    expect(r.bySeq).toEqual(r.order);
    expect(r.dishonest).toEqual([]);
  });

  it.each<Moment>(['open', 'authenticated'])('the new page writes when its socket opens (%s), before its step 2: seqs in writing order', async (moment) => {
    const r = await reload(LocalFirstProvider, `race-${moment}`, 15, 5, moment);
    expect(r.bySeq).toEqual(r.order);
    expect(r.dishonest).toEqual([]);
  });

  it('control: with the library provider the new page\u2019s writes overtake the step 2', async () => {
    const r = await reload(HocuspocusProvider, 'control', 15, 5, 'open');
    // 16–20 before 1–15, and "nothing unsynced" while 1–15 had not left the device
    expect(r.bySeq).toEqual([...r.order.slice(15), ...r.order.slice(0, 15)]);
    expect(r.dishonest.some((d) => d.startsWith('unsynced changes 0'))).toBe(true);
  });
});

/**
 * A transient close and its re-authentication on the open socket are a handshake too. Another tab
 * of the same user wrote M0 (on the server) and M1 (relayed to this page, not on the server yet: that
 * tab went offline). This page edits M1: the server lacks what the edit replaces and refuses it with
 * `missing-dependency`. Right after the close the page writes N; then it re-authenticates (as
 * SyncedDoc does, on every transient close). N must wait for the step 2 that carries M1 and the edit.
 * (With the library's provider N leaves at once, reaches the server before that step 2, has a gap in
 * its client's clocks (the refused edit) and is refused too: one more round of back-off.)
 */
async function afterTransientClose(Provider: ProviderClass, tag: string) {
  const room = await makeRoom(alice, [bob], { name: tag });
  const name = segmentName(room.id, room.openSegment);
  const writer = new Writer(tag);
  const page = openPage(Provider, name, writer, null);
  const otherTab = openPage(Provider, name, writer, null);
  void page.socket.connect();
  void otherTab.socket.connect();
  await settled(page.provider);
  await settled(otherTab.provider);

  writer.write(otherTab.doc, 1); // M0: the server learns that tab's client id
  const [m0] = writer.ids;
  await waitFor(() => page.doc.getMap(SEGMENT_MESSAGES).has(m0), { message: 'M0 broadcast' });
  otherTab.socket.disconnect();
  await waitFor(() => otherTab.socket.status === 'disconnected', { message: 'the other tab offline' });
  writer.write(otherTab.doc, 1); // M1
  const m1 = writer.ids[1];
  // the tabs' relay applies with the provider as origin: not sent by this page
  Y.applyUpdate(page.doc, Y.encodeStateAsUpdate(otherTab.doc, Y.encodeStateVector(page.doc)), page.provider);
  otherTab.destroy();

  const closes: string[] = [];
  page.provider.on('close', ({ event }: { event: { reason?: string } }) => {
    if (!event.reason) return;
    closes.push(event.reason);
    if (closes.length === 1) writer.write(page.doc, 1); // N, while the server has closed the document on this socket
    if (closes.length < 5) setTimeout(() => void page.provider.onOpen(new Event('open')), 0); // resync (SyncedDoc)
  });
  const messages = page.doc.getMap<Message>(SEGMENT_MESSAGES);
  messages.set(m1, { ...messages.get(m1)!, text: 'edited', editedAt: Date.now() });
  await waitFor(() => closes.length > 0, { message: 'the refusal' });
  await waitFor(() => writer.ids.length === 3, { message: 'N written' });
  await settled(page.provider).catch((e) => {
    throw new Error(`${e.message}: closes ${closes}, unsynced ${page.provider.unsyncedChanges}, synced ${page.provider.isSynced}, dishonest ${page.dishonest}`);
  });
  const seqs = await serverSeqs(name, writer.ids);
  page.destroy();
  return { order: writer.ids, bySeq: bySeq(seqs), dishonest: page.dishonest, closes };
}

describe('writes around a re-authentication on the open socket', () => {
  it('a write between a transient close and the new step 2 goes in that step 2, after the older message', async () => {
    const r = await afterTransientClose(LocalFirstProvider, 'resync');
    expect(r.closes).toEqual(['missing-dependency']);
    expect(r.bySeq).toEqual(r.order);
    expect(r.dishonest).toEqual([]);
  });

  it('control: with the library provider the write overtakes that step 2 and is refused too', async () => {
    const r = await afterTransientClose(HocuspocusProvider, 'resync-control');
    expect(r.closes).toEqual(['missing-dependency', 'missing-dependency']);
  });
});
