#!/usr/bin/env node
// Autobahn|JS against the nova_ws router: one WAMP scenario per run.
//
//   node client.js URL REALM SERIALIZER SCENARIO...
//
// Each argument falls back to NOVA_WS_URL, NOVA_WS_REALM, NOVA_WS_SERIALIZER
// and NOVA_WS_SCENARIO (comma separated). The `ticket` scenario also reads
// NOVA_WS_AUTHID and NOVA_WS_TICKET.
//
// Every scenario opens its own connection (max_retries 0), prints one JSON
// line {"scenario": NAME, ...} on stdout and closes. The process exits 0 when
// all scenarios ran, and 1 with a message on stderr on the first failure or
// when a scenario takes longer than NOVA_WS_TIMEOUT seconds (default 20).
//
// The Python side of tests/interop provides the peer procedures under
// com.interop.py.*: add, echo, countdown (progressive), fail, relay_call (it
// calls a procedure from Autobahn|Python/Twisted and reports what came back),
// publish (it publishes from Autobahn|Python/Twisted), and the prefix
// registration com.interop.pyprefix.

'use strict';

const autobahn = require('autobahn');

const PY = 'com.interop.py.';

function fail(message) {
  process.stderr.write(`interop client: ${message}\n`);
  process.exit(1);
}

function serializers(name) {
  if (name === 'json') {
    return [new autobahn.serializer.JSONSerializer()];
  }
  if (name === 'msgpack') {
    if (!autobahn.serializer.MsgpackSerializer) {
      fail('this Autobahn|JS build has no msgpack serializer');
    }
    return [new autobahn.serializer.MsgpackSerializer()];
  }
  return fail(`unknown serializer ${JSON.stringify(name)} (json or msgpack)`);
}

// Open a connection and resolve with {session, details, connection}; reject
// with the close reason (ABORT reason when the router refused to join).
function connect(cfg, extra) {
  return new Promise((resolve, reject) => {
    const options = Object.assign({
      url: cfg.url,
      realm: cfg.realm,
      serializers: serializers(cfg.serializer),
      max_retries: 0,
      retry_if_unreachable: false,
      authmethods: ['anonymous'],
    }, extra || {});
    const connection = new autobahn.Connection(options);
    let opened = false;
    connection.onopen = (session, details) => {
      opened = true;
      resolve({ session, details, connection });
    };
    connection.onclose = (reason, details) => {
      if (!opened) {
        const err = new Error(`connection ${reason}: ${details.reason || ''} ${details.message || ''}`);
        err.wampReason = details.reason;
        err.closeReason = reason;
        reject(err);
      }
      return true; // never retry
    };
    connection.open();
  });
}

function close(connection) {
  return new Promise((resolve) => {
    connection.onclose = () => {
      resolve();
      return true;
    };
    connection.close();
  });
}

// A call result as plain JSON: a single positional result stays as is, a
// multi-valued one becomes {args, kwargs}.
function plain(result) {
  if (result instanceof autobahn.Result) {
    return { args: result.args, kwargs: result.kwargs };
  }
  return result;
}

function errorOf(err) {
  if (err instanceof autobahn.Error) {
    return { error: err.error, args: err.args, kwargs: err.kwargs };
  }
  throw err;
}

// Call and resolve with the error as {error, args, kwargs}; a success is a
// failure of the scenario.
function callExpectingError(session, procedure, args, kwargs) {
  return session.call(procedure, args, kwargs).then(
    (res) => { throw new Error(`${procedure} succeeded with ${JSON.stringify(plain(res))}`); },
    errorOf,
  );
}

// Call with receive_progress; resolve with {result, progress: [values]}.
function callWithProgress(session, procedure, args) {
  return new Promise((resolve, reject) => {
    const progress = [];
    session.call(procedure, args, {}, { receive_progress: true }).then(
      (result) => resolve({ result: plain(result), progress }),
      reject,
      (value) => progress.push(plain(value)),
    );
  });
}

// Collects events; wait(n) resolves with the list once n have arrived.
class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    this.items.push(item);
    this.waiters = this.waiters.filter(([n, resolve]) => {
      if (this.items.length >= n) {
        resolve(this.items.slice());
        return false;
      }
      return true;
    });
  }

  wait(n) {
    if (this.items.length >= n) {
      return Promise.resolve(this.items.slice());
    }
    return new Promise((resolve) => this.waiters.push([n, resolve]));
  }
}

function relayCall(session, procedure, args, options) {
  const kwargs = Object.assign({ procedure, args: args || [] }, options || {});
  return session.call(`${PY}relay_call`, [], kwargs);
}

function relayPublish(session, topic, args, kwargs) {
  return session.call(`${PY}publish`, [], { topic, args: args || [], kwargs: kwargs || {} });
}

const SCENARIOS = {
  async rpc(session) {
    await session.register('com.example.add2', (args) => args[0] + args[1]);
    const add2 = await session.call('com.example.add2', [2, 3]);
    const pyAdd = await session.call(`${PY}add`, [20, 22]);
    const payload = ['text', 'ünïcødé ✓', -7, 2.5, true, null, { nested: [1, 'two', { three: 3 }] }];
    const pyEcho = plain(await session.call(`${PY}echo`, payload, { flag: false, list: [1, 2] }));
    const pyCallsJs = await relayCall(session, 'com.example.add2', [40, 2]);
    return { add2, py_add: pyAdd, py_echo: pyEcho, echo_sent: payload, py_calls_js: pyCallsJs };
  },

  async pubsub(session) {
    const topic = 'com.example.topic1';
    const inbox = new Inbox();
    await session.subscribe(topic, (args, kwargs, details) => {
      inbox.push({ args, kwargs, topic: details.topic, publication: details.publication });
    });
    // Excluded by default: it must never come back to this session.
    const excluded = await session.publish(topic, ['excluded'], {}, { acknowledge: true });
    const pub = await session.publish(topic, ['hello', 1], { from: 'js' },
      { acknowledge: true, exclude_me: false });
    const pyPublication = await relayPublish(session, topic, ['from-python'], { n: 2 });
    const events = await inbox.wait(2);
    return {
      publication: pub.id,
      excluded_publication: excluded.id,
      py_publication: pyPublication,
      events,
    };
  },

  async patterns(session) {
    const inbox = new Inbox();
    const record = (kind) => (args, kwargs, details) => {
      inbox.push({ sub: kind, topic: details.topic, args });
    };
    await session.subscribe('com.example.pattern.', record('prefix'), { match: 'prefix' });
    await session.subscribe('com.example..wild', record('wildcard'), { match: 'wildcard' });
    await session.register('com.example.proc.', (args, kwargs, details) => ['prefix', details.procedure],
      { match: 'prefix' });
    await session.register('com.example..wproc', (args, kwargs, details) => ['wildcard', details.procedure],
      { match: 'wildcard' });

    const opts = { acknowledge: true, exclude_me: false };
    await session.publish('com.example.unrelated', ['none'], {}, opts); // matches neither
    await session.publish('com.example.pattern.a.b', ['p'], {}, opts);
    await session.publish('com.example.x.wild', ['w'], {}, opts);
    await relayPublish(session, 'com.example.pattern.from.py', ['py']);
    const events = await inbox.wait(3);

    const calls = {
      prefix: await session.call('com.example.proc.alpha'),
      wildcard: await session.call('com.example.y.wproc'),
      py_calls_prefix: await relayCall(session, 'com.example.proc.beta.gamma'),
      py_prefix: await session.call('com.interop.pyprefix.one.two'),
    };
    return { events, calls };
  },

  async progressive(session) {
    const pyCountdown = await callWithProgress(session, `${PY}countdown`, [3]);
    await session.register('com.example.js.ticker', (args, kwargs, details) => {
      if (!details.progress) {
        return 'ticked-quietly';
      }
      for (let i = 0; i < args[0]; i += 1) {
        details.progress([i]);
      }
      return 'ticked';
    });
    const jsSelf = await callWithProgress(session, 'com.example.js.ticker', [3]);
    const pyCallsJs = await relayCall(session, 'com.example.js.ticker', [4], { progress: true });
    const pyCallsJsQuiet = await relayCall(session, 'com.example.js.ticker', [4]);
    return {
      py_countdown: pyCountdown,
      js_self: jsSelf,
      py_calls_js: pyCallsJs,
      py_calls_js_quiet: pyCallsJsQuiet,
    };
  },

  async errors(session) {
    const missing = await callExpectingError(session, 'com.example.missing', [1]);
    const pyFail = await callExpectingError(session, `${PY}fail`, ['why']);
    await session.register('com.example.js.fail', (args) => {
      throw new autobahn.Error('com.example.error.js', ['bad input', args[0]], { field: 'x' });
    });
    const jsFail = await callExpectingError(session, 'com.example.js.fail', [5]);
    const pyCallsJsFail = await relayCall(session, 'com.example.js.fail', [6]);
    return { missing, py_fail: pyFail, js_fail: jsFail, py_calls_js_fail: pyCallsJsFail };
  },
};

// Ticket authentication: a good ticket joins with the configured role, a
// procedure outside that role is refused, a wrong ticket is refused at join.
async function ticketScenario(cfg) {
  const authid = process.env.NOVA_WS_AUTHID;
  const ticket = process.env.NOVA_WS_TICKET;
  if (!authid || !ticket) {
    fail('the ticket scenario needs NOVA_WS_AUTHID and NOVA_WS_TICKET');
  }
  const withTicket = (value) => ({
    authmethods: ['ticket'],
    authid,
    onchallenge: (session, method) => {
      if (method !== 'ticket') {
        throw new Error(`unexpected challenge ${method}`);
      }
      return value;
    },
  });
  const { session, details, connection } = await connect(cfg, withTicket(ticket));
  const joined = { authid: details.authid, authrole: details.authrole, authmethod: details.authmethod };
  const denied = await callExpectingError(session, `${PY}add`, [1, 2]);
  await close(connection);
  let badTicket;
  try {
    const other = await connect(cfg, withTicket(`${ticket}-wrong`));
    await close(other.connection);
    badTicket = { joined: true };
  } catch (err) {
    badTicket = { joined: false, reason: err.wampReason, close: err.closeReason };
  }
  return { joined, denied, bad_ticket: badTicket };
}

async function runScenario(cfg, name) {
  if (name === 'ticket') {
    return ticketScenario(cfg);
  }
  const scenario = SCENARIOS[name];
  if (!scenario) {
    return fail(`unknown scenario ${JSON.stringify(name)}`
      + ` (${Object.keys(SCENARIOS).concat(['ticket']).join(', ')})`);
  }
  const { session, connection } = await connect(cfg);
  try {
    return await scenario(session);
  } finally {
    await close(connection);
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const cfg = {
    url: argv[0] || process.env.NOVA_WS_URL,
    realm: argv[1] || process.env.NOVA_WS_REALM || 'nova',
    serializer: argv[2] || process.env.NOVA_WS_SERIALIZER || 'json',
  };
  const names = argv.length > 3 ? argv.slice(3) : (process.env.NOVA_WS_SCENARIO || '').split(',').filter(Boolean);
  if (!cfg.url || names.length === 0) {
    fail('usage: client.js URL REALM SERIALIZER SCENARIO... (or NOVA_WS_* variables)');
  }
  const seconds = Number(process.env.NOVA_WS_TIMEOUT || 20);
  for (const name of names) {
    const watchdog = setTimeout(() => fail(`scenario ${name} timed out after ${seconds}s`), seconds * 1000);
    const result = await runScenario(cfg, name);
    clearTimeout(watchdog);
    await emit(JSON.stringify(Object.assign({ scenario: name }, result)));
  }
}

function emit(line) {
  return new Promise((resolve) => process.stdout.write(`${line}\n`, resolve));
}

main().then(
  () => process.exit(0),
  (err) => fail(err && err.stack ? err.stack : JSON.stringify(err)),
);
