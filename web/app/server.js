// One server's page: overview, console, action log, console output (tabs).

import { ConsolePanel } from './console.js';
import { fill, h, parseTime } from './dom.js';
import { actionButtons } from './servers.js';
import { powerState } from './states.js';

const TABS = [
    { key: 'overview', label: 'Overview' },
    { key: 'console', label: 'Console' },
    { key: 'log', label: 'Action log' },
    { key: 'output', label: 'Console output' },
];

function when(text) {
    const date = parseTime(text);
    return date ? date.toLocaleString() : '';
}

export class ServerView {
    constructor(ctx, id, tab) {
        this.ctx = ctx;
        this.id = id;
        this.tab = TABS.some((t) => t.key === tab) ? tab : 'overview';
        this.panel = null;
    }

    mount(container) {
        this.title = h('h1', {});
        this.state = h('span', { className: 'status', id: 'server-status' });
        this.actions = h('div', { className: 'actions', id: 'server-actions' });
        this.body = h('div', { id: `panel-${this.tab}`, role: 'tabpanel', 'aria-labelledby': `tab-${this.tab}`, tabindex: 0 });
        const tablist = h('div', { role: 'tablist', 'aria-label': 'Server views', className: 'tabs' },
            TABS.map((t) => h('a', {
                role: 'tab', id: `tab-${t.key}`, href: `#/servers/${this.id}/${t.key}`,
                'aria-selected': String(t.key === this.tab), 'aria-controls': `panel-${this.tab}`,
                tabindex: t.key === this.tab ? 0 : -1,
            }, t.label)));
        tablist.addEventListener('keydown', (event) => this._tabKeys(event, tablist));
        // choosing a tab re-renders the page: the keyboard stays on the tabs
        tablist.addEventListener('click', () => { this.ctx.focusTab = true; });
        fill(container,
            h('p', { className: 'crumbs' }, h('a', { href: '#/servers' }, '← Servers')),
            h('div', { className: 'heading' }, this.title, this.state),
            this.actions, tablist, this.body);
        this._onChange = (event) => {
            if (event.detail.id === this.id) {
                this._header();
                this._tabChanged();
            }
        };
        this.ctx.store.addEventListener('change', this._onChange);
        this._onLoaded = () => this._header();
        this.ctx.store.addEventListener('loaded', this._onLoaded);
        this._header();
        this._showTab();
        if (this.ctx.focusTab) {
            this.ctx.focusTab = false;
            tablist.querySelector('[aria-selected=true]').focus();
        }
    }

    unmount() {
        this.ctx.store.removeEventListener('change', this._onChange);
        this.ctx.store.removeEventListener('loaded', this._onLoaded);
        this.panel?.unmount?.();
    }

    _tabKeys(event, tablist) {
        const tabs = [...tablist.querySelectorAll('[role=tab]')];
        const index = tabs.indexOf(document.activeElement);
        const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
        if (index < 0 || !(event.key in moves)) {
            return;
        }
        event.preventDefault();
        const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
        next.focus();
        next.click();
    }

    _header() {
        const server = this.ctx.store.get(this.id);
        if (!server) {
            const gone = this.ctx.store.loaded || this.lastName;
            this.title.textContent = this.lastName ?? (gone ? 'Server not found' : 'Loading…');
            this.state.textContent = this.lastName ? 'DELETED' : '';
            this.state.className = 'status status-deleted';
            this.actions.replaceChildren();
            return;
        }
        this.lastName = server.name;
        document.title = `${server.name} - nova_ws`;
        this.title.textContent = server.name;
        this.state.textContent = server.task_state ? `${server.status} (${server.task_state})` : server.status;
        this.state.className = `status status-${server.status.toLowerCase()}`;
        fill(this.actions, actionButtons(this.ctx, server, { console: false }));
    }

    _showTab() {
        this.panel = null;
        if (this.tab === 'console') {
            this.panel = new ConsolePanel(this.ctx, this.id);
            this.panel.mount(this.body);
        } else if (this.tab === 'log') {
            this._log();
        } else if (this.tab === 'output') {
            this._output();
        } else {
            this._overview();
        }
    }

    _tabChanged() {
        if (this.tab === 'overview') {
            this._overview();
        } else if (this.tab === 'log') {
            this._log();  // a state change is a new action or event in the log
        }
    }

    _overview() {
        const s = this.ctx.store.get(this.id);
        if (!s) {
            fill(this.body, h('p', {}, this.ctx.store.loaded ? 'This server does not exist (any more).' : 'Loading…'));
            return;
        }
        const rows = [
            ['ID', s.id], ['Status', s.status], ['Task', s.task_state ?? '—'], ['Power state', powerState(s.power_state)],
            ['Host', s.host ?? '—'], ['Flavor', s.flavor], ['Image', this.ctx.imageNames.get(s.image) ?? s.image],
            ['Availability zone', s.zone || '—'], ['Created', s.created?.toLocaleString() ?? ''],
            ['Launched', s.launched?.toLocaleString() ?? '—'],
        ];
        fill(this.body, h('dl', { className: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    }

    async _log() {
        const path = `/servers/${encodeURIComponent(this.id)}/os-instance-actions`;
        let answer;
        try {
            answer = await this.ctx.api.compute('GET', path);
        } catch (error) {
            if (this.tab !== 'log') {
                return;
            }
            const missing = error.status === 404 && this.ctx.store.get(this.id);
            fill(this.body, h('p', { className: missing ? 'note' : 'error', id: 'action-log-unavailable' },
                missing ? 'The action log is not available on this cloud.' : `No action log: ${error.message}`));
            return;
        }
        const actions = answer.instanceActions ?? [];
        fill(this.body, actions.length === 0 ? h('p', {}, 'Nothing has been done to this server yet.')
            : h('table', { id: 'action-log' },
                h('caption', { className: 'visually-hidden' }, 'Actions on this server, newest first'),
                h('thead', {}, h('tr', {}, ['Action', 'Started', 'Request', 'User', 'Message']
                    .map((c) => h('th', { scope: 'col' }, c)))),
                h('tbody', {}, actions.map((a) => h('tr', { 'data-action': a.action },
                    h('td', {}, a.action), h('td', {}, when(a.start_time)), h('td', {}, h('code', {}, a.request_id)),
                    h('td', {}, a.user_id ?? ''), h('td', {}, a.message ?? ''))))));
    }

    async _output() {
        const pre = h('pre', { id: 'console-output', tabindex: 0, 'aria-label': 'Console output' }, 'Loading…');
        const refresh = h('button', { type: 'button', id: 'console-output-refresh', onclick: () => load() }, 'Refresh');
        fill(this.body, h('div', { className: 'toolbar' }, refresh), pre);
        const load = async () => {
            try {
                const answer = await this.ctx.api.action(this.id, 'os-getConsoleOutput', { length: 200 });
                pre.textContent = answer.output || '(no output yet)';
                pre.scrollTop = pre.scrollHeight;
            } catch (error) {
                pre.textContent = `No console output: ${error.message}`;
            }
        };
        await load();
    }
}
