import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openDatabase } from '../../server/db/database.ts';
import { documentsRepo } from '../../server/repos/documents.ts';
import { DocumentPersistence } from '../../server/collab/persistence.ts';

function setup(compactAfter = 50) {
  const db = openDatabase(':memory:');
  const repo = documentsRepo(db);
  return { db, repo, persistence: new DocumentPersistence(repo, { now: () => 1 }, compactAfter) };
}

const state = (doc: Y.Doc) => JSON.stringify(doc.getMap('messages').toJSON());

describe('document persistence', () => {
  it('appends every update synchronously, as it is applied', () => {
    const { repo, persistence } = setup();
    const doc = new Y.Doc();
    persistence.track(doc, 'room:abcdefgh:0', () => true);
    doc.getMap('messages').set('a', { text: 'one' });
    expect(repo.tailCount('room:abcdefgh:0')).toBe(1);
    doc.getMap('messages').set('b', { text: 'two' });
    expect(repo.tailCount('room:abcdefgh:0')).toBe(2);
  });

  it('compacts the tail into a snapshot and loads snapshot plus newer tail', () => {
    const { repo, persistence } = setup(50);
    const name = 'room:abcdefgh:0';
    const doc = new Y.Doc();
    persistence.track(doc, name, () => true);
    for (let i = 0; i < 60; i++) doc.getMap('messages').set(`k${i}`, { text: `message ${i}` });
    persistence.compact(doc, name, false);
    expect(repo.tailCount(name)).toBe(0);
    for (let i = 60; i < 65; i++) doc.getMap('messages').set(`k${i}`, { text: `message ${i}` });
    expect(repo.tailCount(name)).toBe(5);

    const loaded = new Y.Doc();
    Y.applyUpdate(loaded, persistence.load(name)!);
    expect(state(loaded)).toBe(state(doc));
  });

  it('does not compact a short tail unless forced', () => {
    const { repo, persistence } = setup(50);
    const name = 'room:abcdefgh:1';
    const doc = new Y.Doc();
    persistence.track(doc, name, () => true);
    doc.getMap('messages').set('x', { text: 'x' });
    persistence.compact(doc, name, false);
    expect(repo.tailCount(name)).toBe(1);
    persistence.compact(doc, name, true);
    expect(repo.tailCount(name)).toBe(0);
    expect(persistence.load(name)).not.toBeNull();
  });

  it('stops storing when told the document is gone', () => {
    const { repo, persistence } = setup();
    const doc = new Y.Doc();
    let alive = true;
    persistence.track(doc, 'room:abcdefgh:2', () => alive);
    doc.getMap('messages').set('a', 1);
    alive = false;
    doc.getMap('messages').set('b', 2);
    expect(repo.tailCount('room:abcdefgh:2')).toBe(1);
  });
});
