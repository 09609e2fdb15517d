// The dashboard's pure modules under node's test runner: states, the
// servers store (events against lists) and error messages.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { errorMessage } from '../../../web/app/api.js';
import { age, parseTime } from '../../../web/app/dom.js';
import { allowedActions, consoleEnded, status } from '../../../web/app/states.js';
import { ServerStore } from '../../../web/app/store.js';

const names = (actions) => actions.map((a) => a.name);

test('status and actions follow vm_state and task_state', () => {
    assert.equal(status('active', null), 'ACTIVE');
    assert.equal(status('active', 'rebooting_hard'), 'HARD_REBOOT');
    assert.equal(status('building', 'spawning'), 'BUILD');
    assert.equal(status('stopped', null), 'SHUTOFF');
    assert.equal(status('nonsense', null), 'UNKNOWN');
    assert.deepEqual(names(allowedActions('active', null)), ['stop', 'reboot', 'pause', 'suspend', 'delete']);
    assert.deepEqual(names(allowedActions('stopped', null)), ['start', 'reboot', 'delete']);
    assert.deepEqual(names(allowedActions('paused', null)), ['reboot', 'unpause', 'delete']);
    assert.deepEqual(names(allowedActions('active', 'powering-off')), ['delete']);
    assert.deepEqual(names(allowedActions('active', 'deleting')), []);
});

test('a console ends with the reason the proxy gives', () => {
    assert.equal(consoleEnded({ vm_state: 'active', task_state: 'deleting' }), 'instance deleted');
    assert.equal(consoleEnded({ vm_state: 'active', task_state: 'powering-off' }), 'instance stopped');
    assert.equal(consoleEnded({ vm_state: 'suspended', task_state: null }), 'instance suspended');
    assert.equal(consoleEnded({ vm_state: 'active', task_state: 'rebooting' }), null);
    assert.equal(consoleEnded({ vm_state: 'active', task_state: 'rebuilding' }), 'instance rebuilt');
    assert.equal(consoleEnded({ vm_state: 'stopped', task_state: 'rebuild_spawning' }), 'instance rebuilt');
    assert.deepEqual(names(allowedActions('active', 'rebuilding')), ['delete']);
});

function doc(id, name, vmState = 'active', task = null) {
    return {
        id, name, 'OS-EXT-STS:vm_state': vmState, 'OS-EXT-STS:task_state': task,
        'OS-EXT-STS:power_state': 1, flavor: { original_name: 'm1.tiny' }, image: { id: 'img' },
        created: '2026-01-01T00:00:00Z',
    };
}

function event(uuid, name, vmState, task = null) {
    return { uuid, name, vm_state: vmState, task_state: task, power_state: 1, flavor: { name: 'm1.tiny' }, image_ref: 'img' };
}

/** A store whose list answers when the test says so. */
function storeWithList() {
    let answer;
    const api = { compute: () => new Promise((resolve) => { answer = resolve; }) };
    return { store: new ServerStore(api), answer: (servers) => answer({ servers }) };
}

test('an event that comes while the list is on its way wins over the list', async () => {
    const { store, answer } = storeWithList();
    const changes = [];
    store.addEventListener('change', (e) => changes.push([e.detail.id, e.detail.server?.status ?? null]));
    const loading = store.reload();
    store.apply(event('a', 'web-1', 'stopped'));     // newer than the list's copy
    store.apply(event('b', 'web-2', 'deleted'));     // deleted before the list came
    answer([doc('a', 'web-1', 'active'), doc('b', 'web-2'), doc('c', 'web-3', 'building', 'spawning')]);
    await loading;
    assert.equal(store.get('a').status, 'SHUTOFF');
    assert.equal(store.get('b'), null);
    assert.equal(store.get('c').status, 'BUILD');
    assert.deepEqual(changes, [['a', 'SHUTOFF'], ['c', 'BUILD']]);
    store.apply(event('b', 'web-2', 'active'));      // a late event of a deleted server
    assert.equal(store.get('b'), null);
});

test('a reload forgets servers deleted while nobody listened', async () => {
    const { store, answer } = storeWithList();
    let loading = store.reload();
    answer([doc('a', 'web-1'), doc('c', 'web-3')]);
    await loading;
    loading = store.reload();
    answer([doc('c', 'web-3')]);
    await loading;
    assert.deepEqual(store.list().map((s) => s.id), ['c']);
    assert.equal(store.loaded, true);
});

test('error answers become readable messages', async () => {
    const nova = new Response(JSON.stringify({ itemNotFound: { code: 404, message: 'Instance x could not be found.' } }), { status: 404 });
    assert.equal(await errorMessage(nova), 'Instance x could not be found.');
    const keystone = new Response(JSON.stringify({ error: { code: 401, message: 'The request you have made requires authentication.' } }), { status: 401 });
    assert.equal(await errorMessage(keystone), 'The request you have made requires authentication.');
    const html = new Response('<html>oops</html>', { status: 502, statusText: 'Bad Gateway' });
    assert.equal(await errorMessage(html), '502 Bad Gateway');
});

test('times and ages', () => {
    assert.equal(parseTime('2026-01-01T00:00:00').toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(parseTime(''), null);
    const now = Date.parse('2026-01-01T02:00:00Z');
    assert.equal(age(parseTime('2026-01-01T01:59:30Z'), now), '30 s');
    assert.equal(age(parseTime('2026-01-01T00:00:00Z'), now), '2 h');
});
