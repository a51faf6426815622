// End-to-end check of the official TypeScript SDK (@memobase/memobase 0.0.18, used unchanged) against a live server.
//
//   MEMOBASE_URL=http://127.0.0.1:8019 MEMOBASE_TOKEN=secret node sdk-e2e.mjs
//
// Every method of MemoBaseClient and User is called and its result asserted (values, not just "no exception").
// One line per check; the first failure prints the reason and exits 1.
//
// Expects a FRESH project (empty profile_config, no users), the chat buffer threshold at its default (1024 tokens), an
// LLM that follows the test suite's fake (tests/Memobase.Server.Tests/Fakes/FakeOpenAiServer.cs: one "- <line> // info"
// gist per chat line; facts basic_info::name::Gus and interest::foods::Likes pizza; the first configured tag = "happy"),
// persistent_chat_blobs=true, and event embeddings on with a bag-of-words style embedder (texts sharing words are similar,
// texts sharing none are not), as TypeScriptSdkTests.cs sets up.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import memobase from '@memobase/memobase';

const {
  MemoBaseClient, User, Blob, ChatBlob, DocBlob, UserProfile, UserEvent, UserGistEvent,
  GetProjectUsersResponse, GetProjectUsageItemResponse, GetConfigResponse, ContextResponse,
} = memobase;

const URL = process.env.MEMOBASE_URL;
const TOKEN = process.env.MEMOBASE_TOKEN;
if (!URL || !TOKEN) {
  console.error('MEMOBASE_URL and MEMOBASE_TOKEN must be set');
  process.exit(2);
}
delete process.env.MEMOBASE_API_KEY; // the constructor falls back to it: only our own checks may set it

const sdkVersion = createRequire(import.meta.url)('@memobase/memobase/package.json').version;

// ---------------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------------
let checks = 0;
const started = performance.now();

async function check(name, fn) {
  const t0 = performance.now();
  checks++;
  try {
    await fn();
  } catch (err) {
    console.log(`not ok ${checks} - ${name}`);
    console.log(`FAILED: ${name}`);
    console.log(String(err?.stack ?? err).split('\n').map((l) => `  ${l}`).join('\n'));
    if (err?.actual !== undefined || err?.expected !== undefined) {
      console.log(`  actual:   ${safeJson(err.actual)}`);
      console.log(`  expected: ${safeJson(err.expected)}`);
    }
    process.exit(1);
  }
  console.log(`ok ${checks} - ${name} (${Math.round(performance.now() - t0)} ms)`);
}

function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** Every SDK method that gets called (directly or through another SDK method), to prove full coverage at the end. */
const called = new Set();
function instrument(cls) {
  const names = Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor');
  for (const name of names) {
    const original = cls.prototype[name];
    cls.prototype[name] = function (...args) {
      called.add(`${cls.name}.${name}`);
      return original.apply(this, args);
    };
  }
  return names.map((n) => `${cls.name}.${n}`);
}

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The SDK throws ServerError(errmsg) when the envelope's errno is not 0 (with HTTP 200). */
async function rejectsServerError(promise, messagePattern, what) {
  await assert.rejects(promise, (err) => {
    assert.equal(err?.name, 'ServerError', `${what}: expected a ServerError (HTTP 200 + errno != 0), got ${err?.name}: ${err?.message}`);
    assert.match(err.message, messagePattern, `${what}: unexpected errmsg`);
    return true;
  }, `${what}: expected the SDK call to reject`);
}

function isValidDate(d) {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

async function eventually(fn, what, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not reached within ${seconds} s`);
}

/** Upstream dumps optional message fields that were not given as null: compare without null-valued keys. */
const withoutNulls = (messages) => messages.map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== null)));

const todayUtc = () => new Date().toISOString().slice(0, 10);

// ---------------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------------
const CONFIG = 'language: en\nevent_tags:\n  - name: mood\n    description: How the user feels in the conversation\n';
const INVALID_CONFIG = 'overwrite_user_profiles:\n  - topic: interest\n    sub_topics:\n      - name: foods\n        description: true\n';

const chat1Messages = [
  { role: 'user', content: 'I am training for a marathon in Berlin', alias: 'Gus', created_at: '2025-03-01' },
  { role: 'assistant', content: 'Great, good luck with the marathon!', alias: 'Coach' },
];
// > 1024 tokens (upstream's default max_chat_blob_buffer_token_size), all about tennis: insert(sync=true) processes it.
const shots = ['forehand', 'backhand', 'serve', 'volley', 'smash', 'drop shot'];
const chat2Messages = Array.from({ length: 64 }, (_, i) => ({
  role: i % 2 === 0 ? 'user' : 'assistant',
  content: `Tennis diary entry ${i + 1}: on Sunday I practised my tennis ${shots[i % shots.length]} for ${i + 10} minutes at the tennis club.`,
}));
const chat3Messages = [{ role: 'user', content: 'I also enjoy chess on Friday evenings' }];

let successfulInserts = 0;

// ---------------------------------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------------------------------
console.log(`# @memobase/memobase ${sdkVersion} against ${URL} (node ${process.version})`);

const clientMethods = instrument(MemoBaseClient);
const userMethods = instrument(User);

await check('the SDK is 0.0.18 and exports MemoBaseClient, User and the zod schemas', async () => {
  assert.equal(sdkVersion, '0.0.18');
  assert.equal(typeof MemoBaseClient, 'function');
  assert.equal(typeof User, 'function');
  for (const schema of [Blob, ChatBlob, DocBlob, UserProfile, UserEvent, UserGistEvent, GetProjectUsersResponse, GetProjectUsageItemResponse]) {
    assert.equal(typeof schema?.parse, 'function');
  }
  assert.deepEqual([...clientMethods].sort(), [
    'MemoBaseClient.addUser', 'MemoBaseClient.deleteUser', 'MemoBaseClient.fetch', 'MemoBaseClient.getConfig',
    'MemoBaseClient.getOrCreateUser', 'MemoBaseClient.getUsage', 'MemoBaseClient.getUser', 'MemoBaseClient.getUsers',
    'MemoBaseClient.ping', 'MemoBaseClient.updateConfig', 'MemoBaseClient.updateUser',
  ], 'MemoBaseClient methods changed: extend this script');
  assert.deepEqual([...userMethods].sort(), [
    'User.addProfile', 'User.context', 'User.delete', 'User.deleteEvent', 'User.deleteProfile', 'User.event', 'User.flush',
    'User.get', 'User.getAll', 'User.insert', 'User.profile', 'User.searchEvent', 'User.searchEventGist', 'User.updateEvent',
    'User.updateProfile',
  ], 'User methods changed: extend this script');
});

// --- client construction, ping, auth ----------------------------------------------------------------------------------
await check('new MemoBaseClient without an api key throws', async () => {
  assert.throws(() => new MemoBaseClient(URL), /apiKey is required/);
});

const client = new MemoBaseClient(URL, TOKEN);

await check('MEMOBASE_API_KEY fallback, trailing slash and "/api/v1" apiVersion build working URLs', async () => {
  process.env.MEMOBASE_API_KEY = TOKEN;
  try {
    const viaEnv = new MemoBaseClient(`${URL}/`, undefined, '/api/v1');
    assert.equal(await viaEnv.getConfig(), '');
  } finally {
    delete process.env.MEMOBASE_API_KEY;
  }
});

await check('ping() is true against the server and false against a closed port', async () => {
  assert.equal(await client.ping(), true);
  assert.equal(await new MemoBaseClient('http://127.0.0.1:9', TOKEN).ping(), false);
});

await check('a wrong token: ping() still true (public healthcheck), other calls fail with HTTP 401', async () => {
  const wrong = new MemoBaseClient(URL, 'definitely-not-the-token');
  assert.equal(await wrong.ping(), true);
  await assert.rejects(wrong.getConfig(), /HTTP error! status: 401/);
  await assert.rejects(wrong.addUser({ x: 1 }), /HTTP error! status: 401/);
});

await check('fetch() (public) returns the raw envelope {data, errno, errmsg} for /project/billing', async () => {
  const r = await client.fetch('/project/billing');
  assert.deepEqual(Object.keys(r).sort(), ['data', 'errmsg', 'errno']);
  assert.equal(r.errno, 0);
  assert.equal(r.errmsg, '');
  assert.equal(r.data.token_left, null, 'root project: unlimited');
  assert.ok(Number.isInteger(r.data.project_token_cost_month) && r.data.project_token_cost_month >= 0);
  assert.ok(isValidDate(new Date(r.data.next_refill_at)), `next_refill_at ${r.data.next_refill_at}`);
});

// --- project config ---------------------------------------------------------------------------------------------------
await check('getConfig() of a fresh project is ""', async () => {
  assert.equal(await client.getConfig(), '');
  GetConfigResponse.parse((await client.fetch('/project/profile_config')).data);
});

await check('updateConfig(yaml) is true and getConfig() returns it verbatim', async () => {
  assert.equal(await client.updateConfig(CONFIG), true);
  assert.equal(await client.getConfig(), CONFIG);
});

await check('updateConfig(invalid yaml schema) is false and leaves the config unchanged', async () => {
  assert.equal(await client.updateConfig(INVALID_CONFIG), false);
  assert.equal(await client.getConfig(), CONFIG);
});

// --- users ------------------------------------------------------------------------------------------------------------
let mainId;
const fixedId = randomUUID();
const gocId = randomUUID();

await check('addUser(data) returns a new uuid4', async () => {
  mainId = await client.addUser({ name: 'Gus', plan: 'free' });
  assert.match(mainId, UUID4);
});

await check('getUser(id) returns a User whose fields are {data, id: null, created_at, updated_at}', async () => {
  const u = await client.getUser(mainId);
  assert.ok(u instanceof User);
  assert.deepEqual(u.fields.data, { name: 'Gus', plan: 'free' });
  assert.equal(u.fields.id, null, 'upstream returns id: null');
  assert.ok(isValidDate(new Date(u.fields.created_at)) && isValidDate(new Date(u.fields.updated_at)));
});

await check('updateUser(id, data) returns the id; the stored fields become the SDK body {data: ...} (upstream)', async () => {
  assert.equal(await client.updateUser(mainId, { plan: 'pro' }), mainId);
  const u = await client.getUser(mainId);
  assert.deepEqual(u.fields.data, { data: { plan: 'pro' } });
});

await check('updateUser of an unknown user rejects with ServerError', async () => {
  await rejectsServerError(client.updateUser(randomUUID(), { a: 1 }), /not found/i, 'updateUser(unknown)');
});

await check('addUser(undefined, id) uses the given id; a duplicate id rejects with ServerError', async () => {
  assert.equal(await client.addUser(undefined, fixedId), fixedId);
  await rejectsServerError(client.addUser(undefined, fixedId), /.+/, 'addUser(duplicate)');
});

await check('getUser(unknown) rejects with ServerError "... not found"; getUser(id, true) makes a bare User', async () => {
  const unknown = randomUUID();
  await rejectsServerError(client.getUser(unknown), new RegExp(`User ${unknown} not found`), 'getUser(unknown)');
  const bare = await client.getUser(unknown, true);
  assert.ok(bare instanceof User);
  assert.equal(bare.fields, undefined);
});

await check('getOrCreateUser(new id) creates the user; getOrCreateUser(existing) reads it', async () => {
  const created = await client.getOrCreateUser(gocId);
  assert.ok(created instanceof User);
  const read = await client.getUser(gocId);
  assert.equal(read.fields.data, null, 'created without data');
  const existing = await client.getOrCreateUser(mainId);
  assert.deepEqual(existing.fields?.data, { data: { plan: 'pro' } }, 'took the GET path for an existing user');
});

await check('getUsers() lists the 3 users with counts; search, order and paging work', async () => {
  const all = await client.getUsers();
  GetProjectUsersResponse.parse(all);
  assert.equal(all.count, 3);
  assert.deepEqual(all.users.map((u) => u.id).sort(), [mainId, fixedId, gocId].sort());
  for (const u of all.users) {
    assert.equal(u.project_id, '__root__');
    assert.equal(u.profile_count, 0);
    assert.equal(u.event_count, 0);
  }
  const found = await client.getUsers(fixedId);
  assert.equal(found.count, 1);
  assert.deepEqual(found.users.map((u) => u.id), [fixedId]);
  // updated_at ascending: main (updated before the others were created), fixed, goc → offset 1 is fixed
  const page = await client.getUsers('', 'updated_at', false, 1, 1);
  assert.equal(page.count, 3);
  assert.deepEqual(page.users.map((u) => u.id), [fixedId]);
  const desc = await client.getUsers('', 'updated_at', true, 10, 0);
  assert.deepEqual(desc.users.map((u) => u.id), [gocId, fixedId, mainId]);
});

const user = await client.getUser(mainId);

// --- blobs ------------------------------------------------------------------------------------------------------------
let doc1;
let doc2;
let doc3;
await check('insert(doc blob with fields and created_at): the whole blob in blob_data is accepted', async () => {
  // The SDK sends {blob_type, fields, blob_data: <the whole blob incl. type, fields, created_at>}.
  doc1 = await user.insert(Blob.parse({
    type: 'doc', content: 'Gus keeps a training diary.', fields: { source: 'sdk-e2e' }, created_at: new Date('2025-01-02T03:04:05Z'),
  }));
  successfulInserts++;
  assert.match(doc1, UUID4);
});

await check('get(blob) returns blob_type, blob_data, fields and created_at', async () => {
  const b = await user.get(doc1);
  assert.equal(b.blob_type, 'doc');
  assert.deepEqual(b.blob_data, { content: 'Gus keeps a training diary.' });
  assert.deepEqual(b.fields, { source: 'sdk-e2e' });
  assert.equal(new Date(b.created_at).toISOString(), '2025-01-02T03:04:05.000Z', 'created_at taken from the blob');
  assert.ok(isValidDate(new Date(b.updated_at)));
});

await check('getAll(doc) pages blob ids oldest first', async () => {
  doc2 = await user.insert(DocBlob.parse({ type: 'doc', content: 'Second document' }));
  successfulInserts++;
  doc3 = await user.insert({ type: 'doc', content: 'Third document' });
  successfulInserts++;
  assert.deepEqual(await user.getAll('doc'), [doc1, doc2, doc3]);
  assert.deepEqual(await user.getAll('doc', 0, 2), [doc1, doc2]);
  assert.deepEqual(await user.getAll('doc', 1, 2), [doc3]);
  assert.deepEqual(await user.getAll('chat'), []);
});

await check('delete(blob) is true; the blob is gone; deleting again is still true', async () => {
  assert.equal(await user.delete(doc2), true);
  await rejectsServerError(user.get(doc2), /not found/, 'get(deleted blob)');
  assert.deepEqual(await user.getAll('doc'), [doc1, doc3]);
  assert.equal(await user.delete(doc2), true);
});

await check('flush(doc, sync) rejects "Blob type doc not supported" (upstream); flush(doc) async is true', async () => {
  await rejectsServerError(user.flush('doc', true), /Blob type doc not supported/, 'flush(doc, true)');
  assert.equal(await user.flush('doc'), true);
});

await check('insert(code blob) rejects with ServerError (upstream cannot store code blobs)', async () => {
  await rejectsServerError(user.insert({ type: 'code', content: 'print(1)', language: 'python' }), /.+/, 'insert(code)');
});

await check('insert for an unknown user rejects with ServerError', async () => {
  const ghost = new User(randomUUID(), client);
  await rejectsServerError(ghost.insert({ type: 'doc', content: 'x' }), /.+/, 'insert(unknown user)');
});

// --- chat, flush, processing ------------------------------------------------------------------------------------------
let chat1;
let e1;
let e2;
let e3;
await check('insert(chat) without sync buffers it: get() returns the messages, no event yet', async () => {
  chat1 = await user.insert(ChatBlob.parse({ type: 'chat', messages: chat1Messages }));
  successfulInserts++;
  const b = await user.get(chat1);
  assert.equal(b.blob_type, 'chat');
  assert.deepEqual(withoutNulls(b.blob_data.messages), chat1Messages);
  assert.deepEqual(await user.getAll('chat'), [chat1]);
  assert.deepEqual(await user.event(), []);
});

await check('flush(chat, sync=true) processes the buffer: 1 event with tip, profile_delta and tags', async () => {
  assert.equal(await user.flush('chat', true), true);
  const events = await user.event();
  assert.equal(events.length, 1);
  e1 = events[0];
  assert.match(e1.id, UUID4);
  assert.ok(isValidDate(e1.created_at) && isValidDate(e1.updated_at));
  assert.match(e1.event_data.event_tip, /marathon in Berlin/);
  assert.ok(Array.isArray(e1.event_data.profile_delta), 'profile_delta must be a list');
  assert.deepEqual(
    e1.event_data.profile_delta.map((d) => `${d.attributes.topic}::${d.attributes.sub_topic}`).sort(),
    ['basic_info::name', 'interest::foods'],
  );
  assert.ok(e1.event_data.profile_delta.some((d) => /Gus/.test(d.content)));
  assert.deepEqual(e1.event_data.event_tags, [{ tag: 'mood', value: 'happy' }]);
});

await check('get(chat blob) still works after the flush (persistent_chat_blobs)', async () => {
  const b = await user.get(chat1);
  assert.deepEqual(withoutNulls(b.blob_data.messages), chat1Messages);
});

await check('flush(chat, sync=true) with an empty buffer is true and adds no event', async () => {
  assert.equal(await user.flush('chat', true), true);
  assert.equal((await user.event()).length, 1);
});

await check('insert(chat over 1024 tokens, sync=true) is processed before it returns', async () => {
  const id = await user.insert({ type: 'chat', messages: chat2Messages }, true);
  successfulInserts++;
  assert.match(id, UUID4);
  const events = await user.event();
  assert.equal(events.length, 2, 'the synchronous insert wrote the event');
  e2 = events[0];
  assert.match(e2.event_data.event_tip, /Tennis diary entry \d+: on Sunday/);
});

await check('flush(chat) without sync returns at once; the event appears in the background', async () => {
  await user.insert({ type: 'chat', messages: chat3Messages }, false);
  successfulInserts++;
  assert.equal(await user.flush('chat'), true);
  const events = await eventually(async () => {
    const list = await user.event();
    return list.length === 3 ? list : null;
  }, 'the background flush');
  e3 = events[0];
  assert.match(e3.event_data.event_tip, /chess on Friday/);
});

// --- events -----------------------------------------------------------------------------------------------------------
await check('event(topk, maxTokenSize): newest first, topk and token budget apply', async () => {
  assert.deepEqual((await user.event()).map((e) => e.id), [e3.id, e2.id, e1.id]);
  assert.deepEqual((await user.event(2)).map((e) => e.id), [e3.id, e2.id]);
  assert.deepEqual((await user.event(10, 100000)).map((e) => e.id), [e3.id, e2.id, e1.id]);
  assert.deepEqual(await user.event(10, 1), [], 'no event fits in 1 token');
  const small = await user.event(10, 200);
  assert.ok(small.length >= 1 && small.length < 3, `a 200-token budget keeps the small newest event but not the big one (got ${small.length})`);
});

await check('updateEvent(id, {event_tip}) replaces only the tip (shallow merge)', async () => {
  assert.equal(await user.updateEvent(e1.id, { event_tip: 'Gus ran the Berlin marathon in 3:59' }), true);
  const after = (await user.event()).find((e) => e.id === e1.id);
  assert.equal(after.event_data.event_tip, 'Gus ran the Berlin marathon in 3:59');
  assert.deepEqual(after.event_data.profile_delta, e1.event_data.profile_delta);
  assert.deepEqual(after.event_data.event_tags, e1.event_data.event_tags);
});

await check('updateEvent(id, {event_tags}) replaces only the tags', async () => {
  assert.equal(await user.updateEvent(e1.id, { event_tags: [{ tag: 'mood', value: 'proud' }] }), true);
  const after = (await user.event()).find((e) => e.id === e1.id);
  assert.deepEqual(after.event_data.event_tags, [{ tag: 'mood', value: 'proud' }]);
  assert.equal(after.event_data.event_tip, 'Gus ran the Berlin marathon in 3:59');
});

await check('updateEvent / deleteEvent of an unknown event reject with ServerError', async () => {
  await rejectsServerError(user.updateEvent(randomUUID(), { event_tip: 'x' }), /not found/, 'updateEvent(unknown)');
  await rejectsServerError(user.deleteEvent(randomUUID()), /not found/, 'deleteEvent(unknown)');
});

await check('searchEvent(query) with defaults finds the matching event only', async () => {
  const hits = await user.searchEvent('marathon Berlin');
  assert.deepEqual(hits.map((e) => e.id), [e1.id]);
  assert.equal(hits[0].event_data.event_tip, 'Gus ran the Berlin marathon in 3:59', 'search returns the stored (updated) event');
});

await check('searchEvent(query, topk, threshold) ranks by similarity and honours topk', async () => {
  assert.deepEqual((await user.searchEvent('tennis Sunday', 1, 0.01)).map((e) => e.id), [e2.id]);
  assert.deepEqual((await user.searchEvent('chess Friday', 1, 0.01)).map((e) => e.id), [e3.id]);
  // The fake extracts the same two facts from every chat: only the first flush adds them (a profile holds a fact once).
  const facts = await user.searchEvent('Gus likes pizza', 10, 0.001);
  assert.deepEqual(facts.map((e) => e.id), [e1.id], 'only the first event carries the profile delta');
  const days = await user.searchEvent('Berlin Sunday Friday', 10, 0.001);
  assert.deepEqual(days.map((e) => e.id).sort(), [e1.id, e2.id, e3.id].sort(), 'each event names one of the words');
  assert.equal((await user.searchEvent('Berlin Sunday Friday', 2, 0.001)).length, 2);
});

await check('searchEvent: similarity_threshold and time_range_in_days filter', async () => {
  assert.deepEqual(await user.searchEvent('marathon Berlin', 10, 0.99), []);
  assert.deepEqual(await user.searchEvent('marathon Berlin', 10, 0.01, 0), []);
  assert.deepEqual((await user.searchEvent('marathon Berlin', 10, 0.01, 1)).map((e) => e.id), [e1.id]);
});

await check('searchEventGist(query) is [] (the SDK reads data.events, which gist search leaves empty, as upstream)', async () => {
  assert.deepEqual(await user.searchEventGist('chess Friday', 5, 0.01, 30), []);
  const raw = await client.fetch(`/users/event_gist/search/${mainId}?query=chess%20Friday&topk=5&similarity_threshold=0.01`);
  assert.deepEqual(raw.data.events, []);
  assert.ok(raw.data.gists.length >= 1, 'the gists themselves are found');
  const best = UserGistEvent.parse(raw.data.gists[0]);
  assert.match(best.gist_data.content, /^- .*chess on Friday/);
  assert.ok(best.similarity > 0.01 && best.similarity <= 1.0000001, `similarity ${best.similarity}`);
});

await check('deleteEvent(id) removes the event and its gists', async () => {
  assert.equal(await user.deleteEvent(e3.id), true);
  assert.deepEqual((await user.event()).map((e) => e.id), [e2.id, e1.id]);
  const raw = await client.fetch(`/users/event_gist/search/${mainId}?query=chess%20Friday&topk=5&similarity_threshold=0.01`);
  assert.ok(!raw.data.gists.some((g) => /chess/.test(g.gist_data.content)), 'gists deleted with the event');
  await rejectsServerError(user.deleteEvent(e3.id), /not found/, 'deleteEvent(twice)');
});

// --- profiles ---------------------------------------------------------------------------------------------------------
let cityId;
let workId;
const topicsOf = (profiles) => profiles.map((p) => `${p.topic}::${p.sub_topic}`);

await check('profile() returns the profiles extracted by the flushes, with Date timestamps', async () => {
  const profiles = await user.profile();
  assert.deepEqual(topicsOf(profiles).sort(), ['basic_info::name', 'interest::foods']);
  for (const p of profiles) {
    UserProfile.parse(p);
    assert.match(p.id, UUID4);
    assert.ok(isValidDate(p.created_at) && isValidDate(p.updated_at));
  }
  assert.match(profiles.find((p) => p.topic === 'basic_info').content, /Gus/);
  assert.match(profiles.find((p) => p.topic === 'interest').content, /pizza/);
});

await check('addProfile(content, topic, subTopic) returns an id; profile() shows it verbatim', async () => {
  cityId = await user.addProfile('Lives in Berlin', 'contact_info', 'city');
  assert.match(cityId, UUID4);
  workId = await user.addProfile('Software engineer', 'work', 'title');
  await user.addProfile('Plays tennis on Sundays', 'interest', 'sports');
  const city = (await user.profile()).find((p) => p.id === cityId);
  assert.deepEqual({ content: city.content, topic: city.topic, sub_topic: city.sub_topic },
    { content: 'Lives in Berlin', topic: 'contact_info', sub_topic: 'city' });
});

await check('profile(maxTokenSize, preferTopics, onlyTopics, maxSubtopicSize) filter and order', async () => {
  assert.equal((await user.profile()).length, 5);
  const preferred = await user.profile(1000, ['work', 'contact_info']);
  assert.deepEqual(topicsOf(preferred).slice(0, 2), ['work::title', 'contact_info::city']);
  const only = await user.profile(1000, undefined, ['interest']);
  assert.deepEqual(topicsOf(only).sort(), ['interest::foods', 'interest::sports']);
  assert.equal((await user.profile(1000, undefined, ['interest'], 1)).length, 1);
  assert.equal((await user.profile(1)).length, 1, 'the first profile is always kept');
});

await check('profile(..., topicLimits) (sent as topic_limits) caps a topic', async () => {
  const limited = await user.profile(1000, undefined, undefined, undefined, { interest: 1 });
  assert.equal(limited.filter((p) => p.topic === 'interest').length, 1);
  assert.equal(limited.length, 4);
});

await check('updateProfile(id, content, topic, subTopic) is true and visible', async () => {
  assert.equal(await user.updateProfile(cityId, 'Lives in Munich', 'contact_info', 'home_city'), true);
  const city = (await user.profile()).find((p) => p.id === cityId);
  assert.equal(city.content, 'Lives in Munich');
  assert.equal(city.sub_topic, 'home_city');
  assert.ok(city.updated_at.getTime() >= city.created_at.getTime());
});

await check('deleteProfile(id) is true; the profile is gone; deleting again rejects with ServerError', async () => {
  assert.equal(await user.deleteProfile(cityId), true);
  assert.ok(!(await user.profile()).some((p) => p.id === cityId));
  await rejectsServerError(user.deleteProfile(cityId), /not found/, 'deleteProfile(twice)');
});

// --- context ----------------------------------------------------------------------------------------------------------
function sections(text) {
  const m = /^PROFILE<<([\s\S]*)>>EVENTS<<([\s\S]*)>>$/.exec(text);
  assert.ok(m, `custom template not applied: ${JSON.stringify(text)}`);
  return { profile: m[1], events: m[2] };
}
const TEMPLATE = 'PROFILE<<{profile_section}>>EVENTS<<{event_section}>>';

await check('context() renders profiles and recent event gists in the default template', async () => {
  const ctx = await user.context();
  ContextResponse.parse({ context: ctx });
  assert.match(ctx, /# Memory/);
  assert.match(ctx, /## User Current Profile:\n- /);
  assert.match(ctx, /basic_info::name: .*Gus/);
  assert.match(ctx, /work::title: Software engineer/);
  const events = ctx.split('## Past Events:')[1];
  assert.ok(events !== undefined, 'no events heading');
  // the newest event's gists (one per chat line, all with the same created_at) fill the 400-token event budget
  assert.match(events, /\n- .*Tennis diary entry \d+: on Sunday/, 'the newest gists fill the event section');
  assert.doesNotMatch(events, /chess/, 'the deleted event left no gists behind');
});

await check('context(all options) with chats searches gists and applies the profile filters', async () => {
  const ctx = await user.context(
    800, 1, ['interest'], ['interest', 'basic_info'], { interest: 1 }, 0.5, false,
    [{ role: 'user', content: 'How is my marathon training in Berlin going?' }], 0.01, TEMPLATE, true, false,
  );
  const { profile, events } = sections(ctx);
  const lines = profile.replace(/^- /, '').split('\n- ');
  assert.equal(lines.filter((l) => l.startsWith('interest::')).length, 1, `one interest line: ${profile}`);
  assert.ok(lines[0].startsWith('interest::'), 'prefer_topics first');
  assert.ok(lines.some((l) => l.startsWith('basic_info::name')));
  assert.ok(!lines.some((l) => l.startsWith('work::')), 'only_topics');
  assert.match(events.split('\n')[0], /marathon in Berlin/, 'the gist matching the chat comes first');
});

await check('context(profileEventRatio=1) leaves no room for events unless fillWindowWithEvents=true', async () => {
  const ratio1 = (fill) => user.context(400, undefined, undefined, undefined, undefined, 1.0, undefined, undefined, undefined, TEMPLATE, undefined, fill);
  const noEvents = sections(await ratio1(false));
  assert.equal(noEvents.events, '');
  assert.match(noEvents.profile, /basic_info::name/);
  const filled = sections(await ratio1(true));
  assert.equal(filled.profile, noEvents.profile);
  assert.match(filled.events, /^- .*Tennis diary entry \d+/, 'fill_window_with_events uses what the profiles left');
});

await check('context(fullProfileAndOnlySearchEvent=false) lets the LLM pick profiles for the chats', async () => {
  const { profile } = sections(await user.context(
    1000, undefined, undefined, undefined, undefined, undefined, undefined,
    [{ role: 'user', content: 'What should I eat before the marathon?' }], undefined, TEMPLATE, false,
  ));
  const lines = profile.replace(/^- /, '').split('\n- ');
  assert.ok(lines.length >= 1 && lines.length <= 3, `the fake LLM picks at most 3 profiles: ${profile}`);
  assert.ok(lines.every((l) => /^(basic_info|interest|work)::/.test(l)));
});

await check('context() of a user without memories: lone "- " profile section and no events (upstream)', async () => {
  const empty = await client.getUser(fixedId);
  assert.deepEqual(sections(await empty.context(1000, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, TEMPLATE)),
    { profile: '- ', events: '' });
});

await check('context() with an unknown template placeholder rejects with ServerError', async () => {
  await rejectsServerError(user.context(1000, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'X {nope}'),
    /.+/, 'context(bad template)');
});

// --- project usage and users with counts ------------------------------------------------------------------------------
await check('getUsage(): 7 days, today first, counts the inserts and the LLM tokens', async () => {
  const before = todayUtc();
  const usage = await client.getUsage();
  const after = todayUtc();
  assert.equal(usage.length, 7);
  usage.forEach((d) => GetProjectUsageItemResponse.parse(d));
  assert.ok([before, after].includes(usage[0].date), `today (UTC) first, got ${usage[0].date}`);
  const sum = (key) => usage.reduce((acc, d) => acc + d[key], 0); // robust against a run that spans midnight
  assert.equal(sum('total_success_insert'), successfulInserts);
  assert.ok(sum('total_insert') >= successfulInserts);
  assert.ok(sum('total_input_token') > 0 && sum('total_output_token') > 0, 'LLM tokens counted');
  assert.ok(usage.slice(2).every((d) => d.total_insert === 0), 'nothing on earlier days of a fresh project');
  const one = await client.getUsage(1);
  assert.equal(one.length, 1);
  assert.equal(one[0].date, usage[0].date);
});

await check('getUsers(order_by profile_count / event_count) reflect the memories', async () => {
  const byProfiles = await client.getUsers('', 'profile_count', true, 10, 0);
  assert.equal(byProfiles.users[0].id, mainId);
  assert.equal(byProfiles.users[0].profile_count, (await user.profile()).length);
  assert.equal(byProfiles.users[0].event_count, 2);
  const byEvents = await client.getUsers('', 'event_count', false, 10, 0);
  assert.equal(byEvents.users.at(-1).id, mainId);
});

// --- deletion ---------------------------------------------------------------------------------------------------------
await check('deleteUser(id) is true, then false; the user is gone', async () => {
  assert.equal(await client.deleteUser(gocId), true);
  assert.equal(await client.deleteUser(gocId), false);
  await rejectsServerError(client.getUser(gocId), /not found/, 'getUser(deleted)');
  assert.equal((await client.getUsers()).count, 2);
});

await check('deleteUser cascades: blobs, profiles and events of the user are gone', async () => {
  assert.equal(await client.deleteUser(mainId), true);
  await rejectsServerError(user.get(chat1), /not found/, 'get(blob of deleted user)');
  assert.deepEqual(await user.getAll('doc'), []);
  assert.deepEqual(await user.profile(), []);
  assert.deepEqual(await user.event(), []);
  assert.deepEqual((await client.getUsers()).users.map((u) => u.id), [fixedId]);
});

await check('every MemoBaseClient and User method was driven', async () => {
  const missing = [...clientMethods, ...userMethods].filter((m) => !called.has(m));
  assert.deepEqual(missing, []);
});

console.log(`# all ${checks} checks passed in ${Math.round(performance.now() - started)} ms`);
