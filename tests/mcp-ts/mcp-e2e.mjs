// End-to-end check of the server's MCP endpoint with the official TypeScript MCP client (@modelcontextprotocol/sdk,
// used unchanged) over Streamable HTTP.
//
//   MEMOBASE_URL=http://127.0.0.1:8019 MEMOBASE_TOKEN=<root token> node mcp-e2e.mjs
//
// Every tool is called and its result compared with what the REST API returns for the same data. One line per check;
// the first failure prints the reason and exits 1.
//
// Expects a fresh database, the root token, an LLM that follows the test suite's fake
// (tests/Memobase.Server.Tests/Fakes/FakeOpenAiServer.cs: facts basic_info::name::Gus and interest::foods::Likes pizza),
// and event embeddings on (as McpTypeScriptClientTests.cs sets up).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const BASE = process.env.MEMOBASE_URL;
const TOKEN = process.env.MEMOBASE_TOKEN;
if (!BASE || !TOKEN) {
  console.error('MEMOBASE_URL and MEMOBASE_TOKEN must be set');
  process.exit(2);
}
const MCP_URL = new URL('/mcp', BASE);
const sdkVersion = JSON.parse(readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url), 'utf8')).version;

// ---------------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------------
let checks = 0;
let toolCalls = 0;
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
      console.log(`  actual:   ${JSON.stringify(err.actual)}`);
      console.log(`  expected: ${JSON.stringify(err.expected)}`);
    }
    process.exit(1);
  }
  console.log(`ok ${checks} - ${name} (${Math.round(performance.now() - t0)} ms)`);
}

async function connect(token, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const client = new Client({ name: 'memobase-mcp-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(MCP_URL, { requestInit: { headers } }));
  return client;
}

/** A tool call that must succeed: returns its structured content (the client validated it against the output schema). */
async function call(client, name, args) {
  toolCalls++;
  const result = await client.callTool({ name, arguments: args });
  const text = result.content?.filter((c) => c.type === 'text').map((c) => c.text).join('') ?? '';
  assert.ok(!result.isError, `${name} returned a tool error: ${text}`);
  assert.equal(typeof result.structuredContent, 'object', `${name}: no structured content`);
  assert.ok(text.length > 0, `${name}: no text rendering`);
  return { data: result.structuredContent, text };
}

/** A tool call that must fail as a tool error (not a protocol error): returns its message. */
async function callFails(client, name, args) {
  toolCalls++;
  const result = await client.callTool({ name, arguments: args });
  assert.equal(result.isError, true, `${name} should have failed, got ${JSON.stringify(result.structuredContent)}`);
  return result.content.filter((c) => c.type === 'text').map((c) => c.text).join('');
}

async function rest(method, path, body, token = TOKEN) {
  const response = await fetch(new URL(path, BASE), {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${method} ${path}: HTTP ${response.status}`);
  return response.json();
}

async function restOk(method, path, body, token) {
  const envelope = await rest(method, path, body, token);
  assert.equal(envelope.errno, 0, `${method} ${path}: errno ${envelope.errno} ${envelope.errmsg}`);
  return envelope.data;
}

async function eventually(fn, what, seconds = 120) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not reached within ${seconds} s`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ids = (list) => list.map((x) => x.id);

// ---------------------------------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------------------------------
const TOOLS = {
  add_profile: ['user_id', 'topic', 'sub_topic', 'content'],
  delete_profile: ['user_id', 'profile_id'],
  flush_buffer: ['user_id'],
  get_context: ['user_id'],
  get_events: ['user_id'],
  get_profile: ['user_id'],
  insert_chat: ['user_id', 'messages'],
  search_events: ['user_id', 'query'],
  update_profile: ['user_id', 'profile_id', 'content'],
};
const user = randomUUID();
let client;
let flushResult;

await check(`connects over Streamable HTTP with a bearer token (@modelcontextprotocol/sdk ${sdkVersion})`, async () => {
  assert.match(sdkVersion, /^1\.32\./);
  client = await connect(TOKEN);
  assert.equal(client.getServerVersion()?.name, 'memobase');
  assert.match(client.getInstructions() ?? '', /insert_chat/);
  assert.ok(client.getServerCapabilities()?.tools, 'the server announces tools');
});

await check('lists exactly the nine tools, each with descriptions, its required arguments and an output schema', async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), Object.keys(TOOLS));
  for (const tool of tools) {
    assert.ok(tool.description?.length > 40, `${tool.name}: description`);
    assert.equal(tool.inputSchema.type, 'object');
    assert.deepEqual([...(tool.inputSchema.required ?? [])].sort(), [...TOOLS[tool.name]].sort(), `${tool.name}: required`);
    for (const [name, property] of Object.entries(tool.inputSchema.properties)) {
      assert.ok(property.description?.length > 5, `${tool.name}.${name}: description`);
    }
    assert.equal(tool.outputSchema?.type, 'object', `${tool.name}: output schema`);
    assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', `${tool.name}: annotations`);
  }
  const insert = tools.find((t) => t.name === 'insert_chat');
  assert.equal(insert.inputSchema.properties.messages.type, 'array');
  assert.deepEqual([...insert.inputSchema.properties.messages.items.required].sort(), ['content', 'role']);
  assert.deepEqual(insert.inputSchema.properties.messages.items.properties.role.enum, ['user', 'assistant']);
  assert.equal(insert.inputSchema.properties.user_id.format, 'uuid');
  assert.equal(tools.find((t) => t.name === 'delete_profile').inputSchema.properties.profile_id.format, 'uuid');
  assert.equal(tools.find((t) => t.name === 'delete_profile').annotations.destructiveHint, true);
  assert.equal(tools.find((t) => t.name === 'get_profile').annotations.readOnlyHint, true);
});

let blobId;
await check('insert_chat creates the missing user and stores a chat blob that the REST API returns', async () => {
  const { data, text } = await call(client, 'insert_chat', {
    user_id: user,
    messages: [
      { role: 'user', content: 'Hi, I am Gus and I love pizza', alias: 'Gus', created_at: '2026-11-28T09:30:00Z' },
      { role: 'assistant', content: 'Nice to meet you, Gus!' },
    ],
  });
  assert.match(data.blob_id, UUID);
  assert.equal(data.user_id, user);
  assert.deepEqual(data.chat_results, []);
  assert.match(text, new RegExp(data.blob_id));
  blobId = data.blob_id;
  await restOk('GET', `/api/v1/users/${user}`);
  const blob = await restOk('GET', `/api/v1/blobs/${user}/${blobId}`);
  assert.equal(blob.blob_type, 'chat');
  assert.deepEqual(blob.blob_data.messages.map((m) => [m.role, m.content, m.alias]), [
    ['user', 'Hi, I am Gus and I love pizza', 'Gus'],
    ['assistant', 'Nice to meet you, Gus!', null],
  ]);
  const idle = await restOk('GET', `/api/v1/users/buffer/capacity/${user}/chat?status=idle`);
  assert.equal(idle.ids.length, 1);
});

await check('flush_buffer with wait=true processes the buffer through the LLM: the profiles it reports are the REST profiles', async () => {
  const { data, text } = await call(client, 'flush_buffer', { user_id: user, wait: true });
  assert.equal(data.status, 'done');
  assert.equal(data.job_id, null);
  flushResult = data.results[0];
  assert.match(flushResult.event_id, UUID);
  assert.equal(flushResult.add_profiles.length, 2);
  assert.match(text, new RegExp(flushResult.event_id));
  const profiles = (await restOk('GET', `/api/v1/users/profile/${user}`)).profiles;
  assert.deepEqual(ids(profiles).sort(), [...flushResult.add_profiles].sort());
  assert.deepEqual(profiles.map((p) => `${p.attributes.topic}::${p.attributes.sub_topic}::${p.content}`).sort(),
    ['basic_info::name::Gus', 'interest::foods::Likes pizza']);
});

await check('flush_buffer with wait=false returns the queued job, which the worker then completes', async () => {
  await call(client, 'insert_chat', { user_id: user, messages: [{ role: 'user', content: 'I also like long walks' }] });
  const { data } = await call(client, 'flush_buffer', { user_id: user });
  assert.equal(data.status, 'scheduled');
  assert.match(data.job_id, UUID);
  const job = await eventually(async () => {
    const detail = await restOk('GET', `/admin/v1/jobs/${data.job_id}`);
    return detail.job.status === 'done' ? detail : null;
  }, `job ${data.job_id} done`);
  assert.equal(job.job.user_id, user);
  const empty = await call(client, 'flush_buffer', { user_id: user });
  assert.equal(empty.data.status, 'empty');
});

await check('get_profile returns the REST profiles, and topics filters them', async () => {
  const restProfiles = (await restOk('GET', `/api/v1/users/profile/${user}`)).profiles;
  const { data, text } = await call(client, 'get_profile', { user_id: user });
  assert.deepEqual(data.profiles, restProfiles);
  for (const p of restProfiles) assert.ok(text.includes(`${p.attributes.topic}::${p.attributes.sub_topic}: ${p.content} (profile_id ${p.id})`), text);
  const only = await call(client, 'get_profile', { user_id: user, topics: ['interest'] });
  assert.deepEqual(only.data.profiles.map((p) => p.attributes.topic), ['interest']);
});

await check('get_context contains the extracted profile and equals the REST context', async () => {
  const { data, text } = await call(client, 'get_context', { user_id: user, max_token_size: 500 });
  assert.match(data.context, /basic_info::name: Gus/);
  assert.equal(text, data.context);
  const restContext = await restOk('GET', `/api/v1/users/context/${user}?max_token_size=500`);
  assert.equal(data.context, restContext.context);
  const withChats = await call(client, 'get_context', {
    user_id: user, prefer_topics: ['interest'], only_topics: ['interest'], chats: [{ role: 'user', content: 'What pizza should I order?' }],
  });
  assert.match(withChats.data.context, /interest::foods: Likes pizza/);
  assert.doesNotMatch(withChats.data.context, /basic_info::name/);
});

await check('get_events lists the events the REST API lists, newest first', async () => {
  const restEvents = (await restOk('GET', `/api/v1/users/event/${user}?topk=5`)).events;
  const { data, text } = await call(client, 'get_events', { user_id: user, topk: 5 });
  assert.deepEqual(ids(data.events), ids(restEvents));
  assert.ok(ids(data.events).includes(flushResult.event_id));
  assert.match(text, new RegExp(flushResult.event_id));
  const one = await call(client, 'get_events', { user_id: user, topk: 1 });
  assert.deepEqual(ids(one.data.events), [restEvents[0].id]);
});

await check('search_events ranks events as the REST event search does', async () => {
  const restEvents = (await restOk('GET', `/api/v1/users/event/search/${user}?query=pizza&topk=5&similarity_threshold=0.05`)).events;
  assert.ok(restEvents.length > 0, 'the REST search finds the pizza event');
  const { data } = await call(client, 'search_events', { user_id: user, query: 'pizza', topk: 5, similarity_threshold: 0.05 });
  assert.deepEqual(ids(data.events), ids(restEvents));
  assert.ok(data.events.every((e) => typeof e.similarity === 'number'));
  const none = await call(client, 'search_events', { user_id: user, query: 'zzzz qqqq', similarity_threshold: 0.99 });
  assert.deepEqual(none.data.events, []);
});

await check('add_profile, update_profile and delete_profile: each change is visible through the REST API', async () => {
  const added = await call(client, 'add_profile', { user_id: user, topic: 'interest', sub_topic: 'sports', content: 'Plays tennis' });
  const id = added.data.profile_id;
  assert.match(id, UUID);
  const find = async () => (await restOk('GET', `/api/v1/users/profile/${user}`)).profiles.find((p) => p.id === id);
  assert.deepEqual((await find()).attributes, { topic: 'interest', sub_topic: 'sports' });

  await call(client, 'update_profile', { user_id: user, profile_id: id, content: 'Plays tennis on Sundays', sub_topic: 'weekend' });
  const updated = await find();
  assert.equal(updated.content, 'Plays tennis on Sundays');
  assert.deepEqual(updated.attributes, { topic: 'interest', sub_topic: 'weekend' });

  const deleted = await call(client, 'delete_profile', { user_id: user, profile_id: id });
  assert.equal(deleted.data.profile_id, id);
  assert.equal(await find(), undefined);
  const again = await rest('DELETE', `/api/v1/users/profile/${user}/${id}`);
  assert.equal(again.errno, 404);
  assert.equal(await callFails(client, 'delete_profile', { user_id: user, profile_id: id }), again.errmsg);
});

await check('tool errors carry the REST API messages', async () => {
  assert.equal(await callFails(client, 'get_profile', { user_id: 'not-a-uuid' }), 'user_id: Input should be a valid UUID version 4 or 5');
  const bad = await rest('POST', `/api/v1/blobs/insert/${user}`, { blob_type: 'chat', blob_data: { messages: [{ role: 'robot', content: 'beep' }] } });
  assert.equal(bad.errno, 400);
  assert.equal(await callFails(client, 'insert_chat', { user_id: user, messages: [{ role: 'robot', content: 'beep' }] }), bad.errmsg);
  const stranger = randomUUID();
  const noUser = await rest('POST', `/api/v1/users/profile/${stranger}`, { content: 'x', attributes: { topic: 'a', sub_topic: 'b' } });
  assert.equal(noUser.errno, 404);
  assert.equal(await callFails(client, 'add_profile', { user_id: stranger, topic: 'a', sub_topic: 'b', content: 'x' }), noUser.errmsg);
});

await check('a missing or wrong token is refused with HTTP 401 and WWW-Authenticate: Bearer', async () => {
  for (const token of [null, 'wrong-token']) {
    await assert.rejects(connect(token), (err) => {
      assert.match(String(err?.message), /401/, String(err));
      return true;
    });
  }
  const raw = await fetch(MCP_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(raw.status, 401);
  assert.match(raw.headers.get('www-authenticate') ?? '', /^Bearer/);
});

await check("another project's token cannot see or touch this project's user", async () => {
  const project = await restOk('POST', '/admin/v1/projects', { project_id: `mcp-other-${Date.now()}` });
  const other = await connect(project.token);
  assert.deepEqual((await call(other, 'get_profile', { user_id: user })).data.profiles, []);
  assert.doesNotMatch((await call(other, 'get_context', { user_id: user })).data.context, /Gus/);
  assert.deepEqual((await call(other, 'get_events', { user_id: user })).data.events, []);
  assert.equal(await callFails(other, 'add_profile', { user_id: user, topic: 'a', sub_topic: 'b', content: 'x' }), `User ${user} not found`);
  const profileId = (await restOk('GET', `/api/v1/users/profile/${user}`)).profiles[0].id;
  assert.match(await callFails(other, 'delete_profile', { user_id: user, profile_id: profileId }), /not found/);
  assert.equal((await restOk('GET', `/api/v1/users/profile/${user}`)).profiles.length, 2, 'nothing was deleted');
  await other.close();
});

await check('X-Memobase-User-Id pins a default user: tools need no user_id', async () => {
  const pinned = await connect(TOKEN, { 'X-Memobase-User-Id': user });
  const { tools } = await pinned.listTools();
  assert.deepEqual(tools.find((t) => t.name === 'insert_chat').inputSchema.required, ['messages']);
  assert.ok(tools.every((t) => !(t.inputSchema.required ?? []).includes('user_id')));
  const restProfiles = (await restOk('GET', `/api/v1/users/profile/${user}`)).profiles;
  assert.deepEqual((await call(pinned, 'get_profile', {})).data.profiles, restProfiles);
  await pinned.close();
  assert.match(await callFails(client, 'get_profile', {}), /^user_id: Field required/);
});

await client.close();
console.log(`# all ${checks} checks passed, ${toolCalls} tool calls (${Math.round(performance.now() - started)} ms)`);
