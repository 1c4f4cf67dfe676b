/** Issue 10 §5: /healthz says only status and version; /metrics is Prometheus text, protected, without per-room or per-user labels. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, apiClient, waitFor, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc, post, acked } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';

let server: TestServer;
let guarded: TestServer;
beforeAll(async () => {
  [server, guarded] = await Promise.all([startServer(), startServer({ metricsToken: 'metrics-secret-token' })]);
});
afterAll(async () => {
  await server.close();
  await guarded.close();
});

const metricValue = (text: string, line: RegExp) => Number(text.split('\n').find((l) => line.test(l))?.split(' ').pop() ?? NaN);

describe('health and metrics', () => {
  it('/healthz tells only status and version', async () => {
    const r = await apiClient(server.url)('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['status', 'version']);
  });

  it('/metrics counts accepted and refused updates and commits, with no room or user in any label', async () => {
    const [a, b] = await Promise.all([makeUser(server), makeUser(server)]);
    const room = await makeRoom(a, [b]);
    const seg = await openDoc(connectSocket(server.wsUrl), `room:${room.id}:0`, a.token);
    post(seg.doc, a.id, 'counted');
    await acked(seg.provider);
    // a forged message: refused with forged-author
    const raw = new RawClient(server.wsUrl);
    await raw.open(`room:${room.id}:0`, b.token);
    await raw.attempt(`room:${room.id}:0`, raw.craft(`room:${room.id}:0`, (d) => d.getMap('messages').set('forged0001', { id: 'forged0001', author: a.id, text: 'x', createdAt: 1 })));
    raw.close();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(metricValue(text, /^messenger_updates_accepted_total /)).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, /^messenger_updates_refused_total\{code="forged-author"\}/)).toBe(1);
    expect(metricValue(text, /^messenger_commit_seconds_count /)).toBeGreaterThanOrEqual(1);
    // the acknowledgement of the post waited for its commit in the output gate
    expect(metricValue(text, /^messenger_fanout_seconds_count /)).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, /^messenger_connections /)).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(metricValue(text, /^messenger_sqlite_bytes /)).toBeGreaterThan(0);
    for (const secret of [room.id, a.id, b.id, a.username]) expect(text).not.toContain(secret);
    seg.provider.configuration.websocketProvider.destroy();
  });

  it('needs METRICS_TOKEN when one is set', async () => {
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(404);
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-token' } });
    expect(ok.status).toBe(200);
    await waitFor(async () => (await ok.text()).includes('messenger_documents'), { message: 'metrics' });
  });
});
