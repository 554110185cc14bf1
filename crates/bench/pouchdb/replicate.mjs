// The PouchDB baseline for lifeboat-bench: replicate N documents, shaped like Lifeboat's changes,
// from one in-memory PouchDB to another, and print how long it took (JSON on one line).
import PouchDB from 'pouchdb-core';
import memory from 'pouchdb-adapter-memory';
import replication from 'pouchdb-replication';

PouchDB.plugin(memory).plugin(replication);
const n = Number(process.argv[2] ?? 10000);
const source = new PouchDB('source', { adapter: 'memory' });
const target = new PouchDB('target', { adapter: 'memory' });
const docs = [];
for (let i = 0; i < n; i++) {
  docs.push({
    _id: `op-${String(i).padStart(9, '0')}`,
    node_seq: i + 1,
    entity: 'client',
    kind: 'create',
    payload: { last_name: 'Quillfeather', first_name: 'Agatha', phone: '07700 900461', postcode: 'EX4 1AB', town: 'Exeter' },
  });
}
for (let i = 0; i < docs.length; i += 1000) await source.bulkDocs(docs.slice(i, i + 1000));
const start = process.hrtime.bigint();
await source.replicate.to(target, { batch_size: 1000 });
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const info = await target.info();
console.log(JSON.stringify({ docs: info.doc_count, seconds }));
