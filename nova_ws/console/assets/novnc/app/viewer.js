// nova_ws console viewer: noVNC's RFB client on this proxy's WebSocket.
//
// Both pages (vnc_lite.html, vnc.html) read noVNC's query parameters:
//   host, port   where the WebSocket goes (default: this page's host and port)
//   path         the WebSocket path and query, e.g. Nova's "?token=..."
//                (default "websockify"); "token" alone is a shortcut
//   encrypt      wss instead of ws (default: wss when the page is https)
//   password     the VNC password (else the page asks when the guest wants one)
//   view_only, shared, scale/resize, show_dot
// Framed, the page tells its parent when it connects and why it closed
// (postMessage: nova-console-connected, nova-console-closed) and takes
// {type: 'nova-console-command', command: 'ctrl-alt-del' | 'focus'} from it.
// The Content-Security-Policy of these pages only lets them connect to their
// own origin, whatever host/port say.

import RFB from '../core/rfb.js';

const TRUE = new Set(['1', 'true', 'yes', 'on']);

/** The query parameters of this page. */
export const params = new URLSearchParams(window.location.search);

/** A query parameter as a boolean (missing: fallback). */
export function flag(name, fallback = false) {
    const value = params.get(name);
    return value === null ? fallback : TRUE.has(value.toLowerCase());
}

/** The WebSocket URL the query parameters describe, relative to location. */
export function websocketUrl(location = window.location, query = params) {
    const encrypt = query.get('encrypt');
    const secure = encrypt === null ? location.protocol === 'https:'
        : TRUE.has(encrypt.toLowerCase());
    let host = query.get('host') || location.hostname;
    if (host.includes(':') && !host.startsWith('[')) {
        host = `[${host}]`;  // a bare IPv6 address
    }
    const port = query.get('port') || location.port;
    let path = query.get('path');
    if (path === null) {
        const token = query.get('token');
        path = token ? `websockify?token=${encodeURIComponent(token)}` : 'websockify';
    }
    path = path.replace(/^\/+/, '');
    return `${secure ? 'wss' : 'ws'}://${host}${port ? `:${port}` : ''}/${path}`;
}

/**
 * One console connection shown in `screen`, reporting through `ui`:
 * ui.status(text, state) with state one of connecting, connected,
 * disconnected, failed, password; ui.askPassword() -> Promise of a string;
 * ui.clipboard(text) (optional).
 */
export class Viewer {
    constructor(screen, ui, options = {}) {
        this.screen = screen;
        this.ui = ui;
        this.options = options;
        this.rfb = null;
        this.desktopName = '';
        this.failed = false;
        // A WebSocket that the page's Content-Security-Policy blocks (a host
        // or port other than this page's) gets an error but never a close
        // event, so noVNC would wait forever: say so and give up.
        document.addEventListener('securitypolicyviolation', (event) => {
            if (event.effectiveDirective === 'connect-src' && (this.rfb || this.opening)) {
                this._blocked(event.blockedURI);
            }
        });
        // A page that embeds the console (the dashboard) may ask for what the
        // console's own buttons do; only the embedding window is heard.
        window.addEventListener('message', (event) => {
            if (window.parent === window || event.source !== window.parent
                    || event.data?.type !== 'nova-console-command') {
                return;
            }
            if (event.data.command === 'ctrl-alt-del') {
                this.sendCtrlAltDel();
            } else if (event.data.command === 'focus') {
                this.rfb?.focus();
            }
        });
    }

    get connected() {
        return this.rfb !== null;
    }

    connect(url = websocketUrl()) {
        if (this.rfb) {
            return;
        }
        this.failed = false;
        this.ui.status('Connecting…', 'connecting');
        const password = params.get('password');
        // The page opens the WebSocket itself so that it learns the close
        // code and reason (the proxy says why: "instance deleted", "token
        // expired"...), which noVNC does not pass on.
        let socket;
        this.opening = true;
        try {
            socket = new WebSocket(url, ['binary']);
        } catch (error) {
            this.ui.status(`Cannot open the console: ${error.message}`, 'failed');
            return;
        } finally {
            this.opening = false;
        }
        if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) {
            this._blocked(new URL(url).href);  // refused before it started: the page's policy stopped it
            return;
        }
        this.closed = null;
        socket.addEventListener('close', (e) => { this.closed = { code: e.code, reason: e.reason }; });
        const rfb = new RFB(this.screen, socket, {
            shared: flag('shared', true),
            credentials: password === null ? {} : { password },
        });
        rfb.viewOnly = flag('view_only');
        rfb.scaleViewport = this.options.scale ?? (flag('scale') || params.get('resize') === 'scale');
        rfb.resizeSession = params.get('resize') === 'remote';
        rfb.showDotCursor = flag('show_dot');
        rfb.addEventListener('connect', () => this._connected());
        rfb.addEventListener('disconnect', (e) => this._disconnected(e.detail.clean));
        rfb.addEventListener('credentialsrequired', (e) => this._credentials(e.detail.types));
        rfb.addEventListener('securityfailure', (e) => this._securityFailure(e.detail));
        rfb.addEventListener('desktopname', (e) => this._named(e.detail.name));
        rfb.addEventListener('clipboard', (e) => this.ui.clipboard?.(e.detail.text));
        this.rfb = rfb;
    }

    disconnect() {
        this.rfb?.disconnect();
    }

    sendCtrlAltDel() {
        this.rfb?.sendCtrlAltDel();
    }

    paste(text) {
        this.rfb?.clipboardPasteFrom(text);
    }

    _connected() {
        const name = this.desktopName ? ` to ${this.desktopName}` : '';
        this.ui.status(`Connected${name}`, 'connected');
        this.rfb.focus();
        this._tellParent({ type: 'nova-console-connected', viewOnly: this.rfb.viewOnly });
    }

    /** Tell an embedding page (the dashboard) what happened; nothing secret is said. */
    _tellParent(message) {
        if (window.parent !== window) {
            window.parent.postMessage(message, '*');
        }
    }

    _disconnected(clean) {
        this.rfb = null;
        if (this.failed) {
            return;  // the security failure's message stays
        }
        const reason = this.closed?.reason;
        // the reason is the proxy's public close reason
        this._tellParent({ type: 'nova-console-closed', reason: reason || '', code: this.closed?.code ?? null });
        if (reason) {
            this.ui.status(`Console closed: ${reason}`, clean ? 'disconnected' : 'failed');
        } else if (clean) {
            this.ui.status('Disconnected', 'disconnected');
        } else {
            this.ui.status('Something went wrong, the connection is closed', 'failed');
        }
    }

    async _credentials(types) {
        this.ui.status('Password required', 'password');
        const password = await this.ui.askPassword(types);
        if (this.rfb) {
            this.ui.status('Connecting…', 'connecting');
            this.rfb.sendCredentials({ password });
        }
    }

    _securityFailure(detail) {
        this.failed = true;
        const reason = detail.reason ? `: ${detail.reason}` : '';
        this.ui.status(`Authentication failed${reason}`, 'failed');
    }

    _blocked(uri) {
        this.failed = true;
        this.ui.status(`Connection to ${uri} refused: this page connects only to its own server`,
            'failed');
        this.rfb?.disconnect();
    }

    _named(name) {
        this.desktopName = name;
        document.title = `${name} - console`;
        if (this.rfb && this.ui.state === 'connected') {
            this.ui.status(`Connected to ${name}`, 'connected');
        }
    }
}

/** The status line and password form both pages share. */
export class StatusBar {
    constructor(element, form) {
        this.element = element;
        this.form = form;
        this.state = 'connecting';
    }

    status(text, state) {
        this.state = state;
        this.element.textContent = text;
        document.documentElement.dataset.state = state;
    }

    askPassword() {
        const form = this.form;
        const input = form.querySelector('input[type=password]');
        form.hidden = false;
        input.value = '';
        input.focus();
        return new Promise((resolve) => {
            form.addEventListener('submit', (event) => {
                event.preventDefault();
                form.hidden = true;
                resolve(input.value);
            }, { once: true });
        });
    }
}
