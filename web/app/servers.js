// The servers table: one row per server, changed in place as events arrive.

import { age, announce, confirmAction, fill, h, showError } from './dom.js';
import { openLaunch } from './launch.js';
import { actionRequest, allowedActions, powerState } from './states.js';

/** Run `action` on `server`, asking first when it is destructive; errors are shown. */
export async function runAction(ctx, server, action) {
    if (action.confirm) {
        const sure = await confirmAction({
            title: `${action.label} ${server.name}?`,
            text: action.name === 'delete'
                ? `The server ${server.name} and its disk will be deleted. This cannot be undone.`
                : `${action.label} the server ${server.name}? Its console (if open) will close.`,
            ok: action.label,
        });
        if (!sure) {
            return false;
        }
    }
    try {
        if (action.name === 'delete') {
            await ctx.api.compute('DELETE', `/servers/${encodeURIComponent(server.id)}`);
        } else {
            await ctx.api.action(server.id, ...Object.entries(actionRequest(action.name))[0]);
        }
        announce(`${action.label}: request sent for ${server.name}`);
        return true;
    } catch (error) {
        showError(`${action.label} ${server.name} failed: ${error.message}`);
        return false;
    }
}

/** The action buttons of a server (empty while it is busy). */
export function actionButtons(ctx, server, { console: withConsole = true } = {}) {
    const buttons = allowedActions(server.vm_state, server.task_state).map((action) => h('button', {
        type: 'button',
        className: action.confirm ? 'danger' : '',
        'data-action': action.name,
        'aria-label': `${action.label} ${server.name}`,
        onclick: () => runAction(ctx, server, action),
    }, action.label));
    if (withConsole && server.vm_state === 'active' && !server.task_state) {
        buttons.unshift(h('a', {
            className: 'button', href: `#/servers/${server.id}/console`,
            'data-action': 'console', 'aria-label': `Console of ${server.name}`,
        }, 'Console'));
    }
    return buttons;
}

// Host: admins only, as the API shows it (members' events carry it, the list does not).
const COLUMNS = [
    ['name', 'Name'], ['status', 'Status'], ['task', 'Task'], ['power', 'Power state'],
    ['host', 'Host'], ['flavor', 'Flavor'], ['image', 'Image'], ['age', 'Age'], ['actions', 'Actions'],
];

export class ServersView {
    constructor(ctx) {
        this.ctx = ctx;
        this.rows = new Map();
    }

    mount(container) {
        const { store } = this.ctx;
        this.body = h('tbody');
        this.empty = h('p', { className: 'empty', hidden: true }, 'No servers yet. Launch one to begin.');
        this.table = h('table', { className: 'servers', id: 'servers' },
            h('caption', { className: 'visually-hidden' }, 'Servers of this project'),
            h('thead', {}, h('tr', {}, COLUMNS.filter(([key]) => key !== 'host' || this.ctx.session.admin)
                .map(([key, label]) => h('th', { scope: 'col', 'data-col': key }, label)))),
            this.body);
        fill(container,
            h('div', { className: 'heading' },
                h('h1', {}, 'Servers'),
                h('button', { type: 'button', id: 'launch', onclick: () => openLaunch(this.ctx) }, 'Launch servers…')),
            h('div', { className: 'table-wrap' }, this.table),
            this.empty);
        for (const server of store.list()) {
            this._row(server);
        }
        this._sort();
        this._onChange = (event) => this._changed(event.detail);
        store.addEventListener('change', this._onChange);
        this._onLoaded = () => this._refreshEmpty();
        store.addEventListener('loaded', this._onLoaded);
        this._ages = window.setInterval(() => this._updateAges(), 10_000);  // local clock only
        this._refreshEmpty();
    }

    unmount() {
        this.ctx.store.removeEventListener('change', this._onChange);
        this.ctx.store.removeEventListener('loaded', this._onLoaded);
        window.clearInterval(this._ages);
    }

    _changed({ id, server }) {
        if (server === null) {
            const row = this.rows.get(id);
            if (row) {
                const name = row.dataset.name;
                row.remove();
                this.rows.delete(id);
                announce(`${name} was deleted`);
            }
        } else {
            const isNew = !this.rows.has(id);
            this._row(server);
            if (isNew) {
                this._sort();
            }
        }
        this._refreshEmpty();
    }

    _row(server) {
        let row = this.rows.get(server.id);
        if (!row) {
            row = h('tr', { 'data-id': server.id });
            this.rows.set(server.id, row);
            this.body.append(row);
        }
        const previous = row.dataset.status;
        row.dataset.name = server.name;
        row.dataset.status = server.status;
        const active = row.contains(document.activeElement) ? document.activeElement : null;
        const focused = active ? active.dataset.action ?? 'name' : null;
        const image = this.ctx.imageNames.get(server.image) ?? server.image.slice(0, 8);
        fill(row,
            h('th', { scope: 'row', 'data-col': 'name' },
                h('a', { href: `#/servers/${server.id}` }, server.name)),
            h('td', { 'data-col': 'status', 'data-label': 'Status' },
                h('span', { className: `status status-${server.status.toLowerCase()}` }, server.status)),
            h('td', { 'data-col': 'task', 'data-label': 'Task' }, server.task_state ?? ''),
            h('td', { 'data-col': 'power', 'data-label': 'Power state' }, powerState(server.power_state)),
            this.ctx.session.admin ? h('td', { 'data-col': 'host', 'data-label': 'Host' }, server.host ?? '') : null,
            h('td', { 'data-col': 'flavor', 'data-label': 'Flavor' }, server.flavor),
            h('td', { 'data-col': 'image', 'data-label': 'Image' }, image),
            h('td', { 'data-col': 'age', 'data-label': 'Age' }, age(server.created)),
            h('td', { 'data-col': 'actions' }, h('div', { className: 'actions' }, actionButtons(this.ctx, server))));
        if (focused) {
            // keep the keyboard where it was when the row is redrawn
            (row.querySelector(`[data-action="${focused}"]`) ?? row.querySelector('a'))?.focus();
        }
        if (previous && previous !== server.status) {
            announce(`${server.name} is now ${server.status}`);
        }
    }

    _sort() {
        const order = this.ctx.store.list().map((s) => this.rows.get(s.id)).filter(Boolean);
        this.body.append(...order);
    }

    _updateAges() {
        for (const [id, row] of this.rows) {
            const server = this.ctx.store.get(id);
            const cell = row.querySelector('[data-col=age]');
            if (server && cell) {
                cell.textContent = age(server.created);
            }
        }
    }

    _refreshEmpty() {
        this.empty.hidden = !this.ctx.store.loaded || this.rows.size > 0;
    }
}
