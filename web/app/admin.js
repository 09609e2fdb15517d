// Admin views: services (up/down live) and hypervisors (usage bars and a
// live chart of guests per host). Only admin sessions may use the router's
// meta topics and every project's events, which is what these follow.

import { fill, h, showError } from './dom.js';
import { HYPERVISOR_VERSION } from './api.js';
import uPlot from './vendor/uplot/uPlot.esm.js';

/** Which service a WAMP session is: compute hosts join as their host name. */
function serviceOf(authid, authrole) {
    if (authrole === 'compute') {
        return { binary: 'nova-compute', host: authid };
    }
    if (['api', 'scheduler', 'conductor', 'console', 'consoleauth', 'cert'].includes(authrole)) {
        return { binary: authid, host: null };
    }
    return null;
}

function matches(service, row) {
    return service.binary === row.binary && (service.host === null || service.host === row.host);
}

export class ServicesView {
    constructor(ctx) {
        this.ctx = ctx;
        this.services = new Map();   // "host/binary" -> service document
        this.sessions = null;        // session id -> {binary, host} (null until listed)
        this.unsubscribe = [];
    }

    mount(container) {
        this.body = h('tbody');
        fill(container, h('h1', {}, 'Services'),
            h('p', { className: 'note' }, 'A service is down when it stops reporting or leaves the router; the change shows here at once.'),
            h('div', { className: 'table-wrap' }, h('table', { id: 'services' },
                h('caption', { className: 'visually-hidden' }, 'Services of the cloud'),
                h('thead', {}, h('tr', {}, ['Service', 'Host', 'Zone', 'Status', 'State', 'Updated']
                    .map((c) => h('th', { scope: 'col' }, c)))),
                this.body)));
        const live = this.ctx.live;
        this.unsubscribe = [
            live.subscribe('nova.event.service', ([view]) => this._event(view)),
            live.subscribe('wamp.session.on_join', ([details]) => this._joined(details)),
            live.subscribe('wamp.session.on_leave', ([id]) => this._left(id)),
        ];
        this._onReady = () => this.load();
        live.addEventListener('ready', this._onReady);
        this.load();
    }

    unmount() {
        this.unsubscribe.forEach((u) => u());
        this.ctx.live.removeEventListener('ready', this._onReady);
    }

    async load() {
        try {
            const answer = await this.ctx.api.compute('GET', '/os-services');
            this.services = new Map(answer.services.map((s) => [`${s.host}/${s.binary}`, s]));
        } catch (error) {
            showError(`Cannot list services: ${error.message}`);
            return;
        }
        await this._listSessions();
        this._render();
    }

    async _listSessions() {
        try {
            const ids = await this.ctx.live.call('wamp.session.list');
            const details = await Promise.all(ids.map((id) => this.ctx.live.call('wamp.session.get', [id]).catch(() => null)));
            this.sessions = new Map();
            for (const d of details) {
                const service = d && serviceOf(d.authid, d.authrole);
                if (service) {
                    this.sessions.set(d.session, service);
                }
            }
        } catch {
            this.sessions = null;  // not connected yet: heartbeats alone decide
        }
    }

    _event(view) {
        const key = `${view.host}/${view.binary}`;
        const known = this.services.get(key) ?? {};
        this.services.set(key, {
            ...known, binary: view.binary, host: view.host, zone: view.zone,
            status: view.disabled ? 'disabled' : 'enabled', state: view.state,
            disabled_reason: view.disabled_reason, forced_down: view.forced_down, updated_at: view.updated_at,
        });
        this._render();
    }

    _joined(details) {
        const service = serviceOf(details.authid, details.authrole);
        if (service && this.sessions) {
            this.sessions.set(details.session, service);
            this._render();
        }
    }

    _left(id) {
        if (this.sessions?.delete(id)) {
            this._render();
        }
    }

    _state(row) {
        if (row.forced_down) {
            return 'down';
        }
        if (this.sessions === null) {
            return row.state;
        }
        const connected = [...this.sessions.values()].some((s) => matches(s, row));
        return connected ? 'up' : 'down';
    }

    _render() {
        const rows = [...this.services.values()].sort((a, b) => a.binary.localeCompare(b.binary) || a.host.localeCompare(b.host));
        fill(this.body, rows.map((s) => {
            const state = this._state(s);
            return h('tr', { 'data-binary': s.binary, 'data-host': s.host, 'data-state': state, 'data-status': s.status },
                h('th', { scope: 'row' }, s.binary), h('td', { 'data-label': 'Host' }, s.host),
                h('td', { 'data-label': 'Zone' }, s.zone ?? ''),
                h('td', { 'data-label': 'Status' }, s.status + (s.disabled_reason ? ` (${s.disabled_reason})` : '')),
                h('td', { 'data-label': 'State' }, h('span', { className: `state state-${state}` }, state)),
                h('td', { 'data-label': 'Updated' }, s.updated_at ? new Date(s.updated_at.endsWith('Z') || s.updated_at.includes('+')
                    ? s.updated_at : `${s.updated_at}Z`).toLocaleTimeString() : ''));
        }));
    }
}

function meter(label, used, total, unit) {
    const id = `m-${Math.random().toString(36).slice(2)}`;
    return h('div', { className: 'usage' },
        h('span', { id }, `${label}: ${used} / ${total} ${unit}`),
        h('meter', { min: 0, max: Math.max(total, 1), value: used, high: total * 0.85, optimum: 0, 'aria-labelledby': id }));
}

export class HypervisorsView {
    constructor(ctx) {
        this.ctx = ctx;
        // samples kept for the session: [{time, counts: {host: n}}]
        ctx.guestHistory ??= [];
        this.nodes = new Map();  // id -> hypervisor (the API's detail row, updated by events)
        this.unsubscribe = [];
    }

    mount(container) {
        this.body = h('tbody');
        this.chartBox = h('div', { className: 'chart', id: 'guests-chart', role: 'img', 'aria-label': 'Guests per host over time' });
        fill(container, h('h1', {}, 'Hypervisors'),
            h('p', { className: 'note' }, 'Use and guests change here as the cloud places and removes servers.'),
            h('div', { className: 'table-wrap' }, h('table', { id: 'hypervisors' },
                h('caption', { className: 'visually-hidden' }, 'Hypervisors and their use'),
                h('thead', {}, h('tr', {}, ['Host', 'State', 'Guests', 'Use'].map((c) => h('th', { scope: 'col' }, c)))),
                this.body)),
            h('h2', {}, 'Guests per host'), this.chartBox);
        const live = this.ctx.live;
        // the conductor pushes each node's usage after claims and releases,
        // and each compute service's state: the page lists only once (and
        // after a reconnect, for what it may have missed)
        this.unsubscribe = [
            live.subscribe('nova.event.hypervisor', ([view]) => this._node(view)),
            live.subscribe('nova.event.service', ([view]) => this._service(view)),
        ];
        this._onReady = () => this.load();
        live.addEventListener('ready', this._onReady);
        this._resize = new ResizeObserver(() => this.chart?.setSize(this._size()));
        this._resize.observe(this.chartBox);
        this.load();
    }

    unmount() {
        this.unsubscribe.forEach((u) => u());
        this.ctx.live.removeEventListener('ready', this._onReady);
        this._resize.disconnect();
        this.chart?.destroy();
    }

    async load() {
        let answer;
        try {
            answer = await this.ctx.api.compute('GET', '/os-hypervisors/detail', undefined, HYPERVISOR_VERSION);
        } catch (error) {
            showError(`Cannot list hypervisors: ${error.message}`);
            return;
        }
        this.nodes = new Map(answer.hypervisors.map((n) => [n.id, { ...n, host: n.service?.host }]));
        this._render();
    }

    _node(view) {
        const known = this.nodes.get(view.id);
        // a node not listed yet is up and enabled until its service says otherwise
        this.nodes.set(view.id, { state: 'up', status: 'enabled', ...known, ...view });
        this._render();
    }

    _service(view) {
        if (view.binary !== 'nova-compute') {
            return;
        }
        let changed = false;
        for (const node of this.nodes.values()) {
            if (node.host === view.host) {
                node.state = view.forced_down ? 'down' : view.state;
                node.status = view.disabled ? 'disabled' : 'enabled';
                changed = true;
            }
        }
        if (changed) {
            this._render();
        }
    }

    _render() {
        const nodes = [...this.nodes.values()].sort((a, b) => a.hypervisor_hostname.localeCompare(b.hypervisor_hostname));
        fill(this.body, nodes.map((n) => h('tr', {
            'data-host': n.hypervisor_hostname, 'data-guests': n.running_vms, 'data-state': n.state, 'data-status': n.status,
        },
            h('th', { scope: 'row' }, n.hypervisor_hostname),
            h('td', { 'data-label': 'State' }, h('span', { className: `state state-${n.state}` }, `${n.state}, ${n.status}`)),
            h('td', { 'data-label': 'Guests', 'data-col': 'guests' }, String(n.running_vms)),
            h('td', { className: 'usage-cell' },
                meter('RAM', n.memory_mb_used, n.memory_mb, 'MB'),
                meter('vCPUs', n.vcpus_used, n.vcpus, ''),
                meter('Disk', n.local_gb_used, n.local_gb, 'GB')))));
        this._sample(nodes);
    }

    _sample(nodes) {
        const history = this.ctx.guestHistory;
        history.push({ time: Date.now() / 1000, counts: Object.fromEntries(nodes.map((n) => [n.hypervisor_hostname, n.running_vms])) });
        if (history.length > 500) {
            history.splice(0, history.length - 500);
        }
        const hosts = [...new Set(history.flatMap((s) => Object.keys(s.counts)))].sort();
        const data = [history.map((s) => s.time), ...hosts.map((host) => history.map((s) => s.counts[host] ?? null))];
        const key = hosts.join('\n');
        if (this.chart && this.chartHosts === key) {
            this.chart.setData(data);
            return;
        }
        this.chart?.destroy();
        this.chartHosts = key;
        const palette = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2'];
        this.chart = new uPlot({
            ...this._size(),
            scales: {
                x: { time: true, range: (u, min, max) => [Math.min(min, max - 60), max + 1] },
                y: { range: (u, min, max) => [0, Math.max(1, max + 1)] },
            },
            axes: [{}, { label: 'guests', values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : '')) }],
            series: [{}, ...hosts.map((host, i) => ({
                label: host, stroke: palette[i % palette.length], width: 2, paths: uPlot.paths.stepped({ align: 1 }),
            }))],
        }, data, this.chartBox);
    }

    _size() {
        return { width: Math.max(240, (this.chartBox.clientWidth || 616) - 16), height: 220 };
    }
}
