// A server's console in the page: the proxy's own page (noVNC, spice-html5,
// xterm.js) in a frame, with a fresh token for every connection. The frame
// is the proxy's origin, so the console's WebSocket carries the proxy's own
// Origin; the frame shows why a console closed and tells this panel
// (postMessage), which also learns it from the instance events (deleted,
// stopped, suspended end consoles).

import { announce, fill, h } from './dom.js';
import { consoleEnded } from './states.js';

export const CONSOLE_TYPES = [
    { type: 'novnc', label: 'VNC' },
    { type: 'spice-html5', label: 'SPICE' },
    { type: 'serial', label: 'Serial' },
];

/** The page to frame for a console URL the API gave (serial's is the WebSocket itself). */
export function pageUrl(type, url) {
    if (type !== 'serial') {
        return url;
    }
    const socket = new URL(url);
    const page = new URL(socket.href);
    page.protocol = socket.protocol === 'wss:' ? 'https:' : 'http:';
    page.pathname = '/serial.html';
    return page.href;
}

export class ConsolePanel {
    constructor(ctx, serverId) {
        this.ctx = ctx;
        this.serverId = serverId;
        this.type = 'novnc';
        this.generation = 0;
    }

    mount(container) {
        this.status = h('p', { id: 'console-status', role: 'status', 'data-state': 'idle' });
        this.reconnectButton = h('button', { type: 'button', id: 'console-reconnect', onclick: () => this.connect() },
            'Reconnect');
        this.fullscreenButton = h('button', {
            type: 'button', id: 'console-fullscreen', onclick: () => this.frame?.requestFullscreen?.(),
        }, 'Full screen');
        this.shareButton = h('button', { type: 'button', id: 'console-share', onclick: () => this.share() },
            'View-only link');
        // Ctrl+Alt+Del cannot be typed (the operating system takes it): the
        // framed noVNC page sends it when asked, once it is connected
        this.cadButton = h('button', {
            type: 'button', id: 'console-cad', disabled: true, onclick: () => this.sendCtrlAltDel(),
        }, 'Send Ctrl-Alt-Del');
        this.shareBox = h('div', { className: 'share', hidden: true });
        this.stage = h('div', { className: 'console-stage' });
        const types = h('div', { className: 'segmented', role: 'radiogroup', 'aria-label': 'Console type' },
            CONSOLE_TYPES.map(({ type, label }) => h('label', {},
                h('input', {
                    type: 'radio', name: 'console-type', value: type, checked: type === this.type,
                    onchange: () => { this.type = type; this.connect(); },
                }), label)));
        fill(container,
            h('div', { className: 'toolbar' }, types, this.reconnectButton, this.cadButton, this.fullscreenButton,
                this.shareButton),
            this.status, this.shareBox, this.stage);
        this._onChange = (event) => {
            if (event.detail.id === this.serverId) {
                this._serverChanged(event.detail.server);
            }
        };
        this.ctx.store.addEventListener('change', this._onChange);
        // the framed console page says when it is connected, and why it
        // closed (idle, token expired, revoked...)
        this._onMessage = (event) => {
            const frame = this.frame;
            if (!frame || event.source !== frame.contentWindow
                    || event.origin !== new URL(frame.src).origin) {
                return;
            }
            if (event.data?.type === 'nova-console-connected') {
                this.cadButton.disabled = frame.dataset.type !== 'novnc' || Boolean(event.data.viewOnly);
            } else if (event.data?.type === 'nova-console-closed') {
                this._closed(String(event.data.reason || 'the connection closed'));
            }
        };
        window.addEventListener('message', this._onMessage);
        this.connect();
    }

    unmount() {
        this.generation += 1;
        this.ctx.store.removeEventListener('change', this._onChange);
        window.removeEventListener('message', this._onMessage);
        this.stage?.replaceChildren();
    }

    _say(text, state) {
        this.status.textContent = text;
        this.status.dataset.state = state;
    }

    /** Ask the API for a new console (a fresh token) and show it. */
    async connect() {
        const generation = ++this.generation;
        const server = this.ctx.store.get(this.serverId);
        this.stage.replaceChildren();
        this.frame = null;
        this.cadButton.disabled = true;
        if (!server && !this.ctx.store.loaded) {
            this._say('Loading…', 'connecting');  // the page was opened at this address
            this.ctx.store.addEventListener('loaded', () => {
                if (generation === this.generation) {
                    this.connect();
                }
            }, { once: true });
            return;
        }
        if (!server) {
            this._say('Console closed: instance deleted', 'closed');
            this.reconnectButton.disabled = true;
            return;
        }
        const ended = consoleEnded(server);
        if (ended) {
            this._say(`No console: the server is ${server.status}.`, 'closed');
            return;
        }
        const label = CONSOLE_TYPES.find((t) => t.type === this.type).label;
        this._say(`Opening the ${label} console…`, 'connecting');
        let url;
        try {
            url = await this.ctx.api.console(this.serverId, this.type);
        } catch (error) {
            if (generation === this.generation) {
                const unavailable = error.status === 400 && /unavailable console type/i.test(error.message);
                this._say(unavailable ? `This server has no ${label} console.` : `Cannot open the console: ${error.message}`,
                    'failed');
            }
            return;
        }
        if (generation !== this.generation) {
            return;
        }
        this.frame = h('iframe', {
            id: 'console-frame',
            title: `${label} console of ${server.name}`,
            src: pageUrl(this.type, url),
            allow: 'fullscreen; clipboard-read; clipboard-write',
            referrerpolicy: 'no-referrer',
            sandbox: 'allow-scripts allow-same-origin allow-forms',
            'data-type': this.type,
        });
        this.frame.addEventListener('load', () => {
            if (generation === this.generation && this.status.dataset.state === 'connecting') {
                this._say(`${label} console open. Keys typed in it go to the server, Tab too: `
                    + 'click outside it to take the keyboard back.', 'open');
            }
        });
        this.stage.append(this.frame);
    }

    _serverChanged(server) {
        if (!server) {
            this._closed('instance deleted');
            this.reconnectButton.disabled = true;
            this.shareButton.disabled = true;
            return;
        }
        const reason = consoleEnded(server);
        if (reason && this.frame) {
            this._closed(reason);
        }
    }

    /** Ask the framed console to send Ctrl+Alt+Del to the guest. */
    sendCtrlAltDel() {
        const frame = this.frame;
        if (!frame || this.cadButton.disabled) {
            return;
        }
        frame.contentWindow.postMessage({ type: 'nova-console-command', command: 'ctrl-alt-del' },
            new URL(frame.src).origin);
        announce('Ctrl-Alt-Del sent');
    }

    _closed(reason) {
        if (this.status.dataset.state === 'closed') {
            return;
        }
        this.cadButton.disabled = true;
        this.generation += 1;
        this._say(`Console closed: ${reason}`, 'closed');
        announce(`Console closed: ${reason}`);
    }

    async share() {
        try {
            const url = await this.ctx.api.console(this.serverId, 'novnc', true);
            const input = h('input', { type: 'text', readonly: true, value: url, 'aria-label': 'View-only console link' });
            const copy = h('button', {
                type: 'button',
                onclick: async () => {
                    try {
                        await navigator.clipboard.writeText(url);
                        announce('Link copied');
                    } catch {
                        input.select();
                        announce('Select the link and copy it');
                    }
                },
            }, 'Copy');
            fill(this.shareBox, h('p', {}, 'Anyone with this link can watch this console (view only) until the link is used or expires.'),
                h('div', { className: 'row' }, input, copy));
            this.shareBox.hidden = false;
            input.focus();
            input.select();
        } catch (error) {
            fill(this.shareBox, h('p', { className: 'error', role: 'alert' }, `No link: ${error.message}`));
            this.shareBox.hidden = false;
        }
    }
}
