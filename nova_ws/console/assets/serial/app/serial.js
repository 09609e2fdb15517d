// serial.html: xterm.js on this proxy's WebSocket, bytes both ways.

import { Terminal } from '../xterm/lib/xterm.mjs';

const params = new URLSearchParams(window.location.search);
const status = document.getElementById('status');

function show(text, state) {
    status.textContent = text;
    document.documentElement.dataset.state = state;
}

/** ws(s)://this host/<path>, the path carrying the page's token. */
function websocketUrl() {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    let path = params.get('path');
    if (path === null) {
        const token = params.get('token');
        path = token ? `?token=${encodeURIComponent(token)}` : '';
    }
    return `${scheme}://${window.location.host}/${path.replace(/^\/+/, '')}`;
}

const term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000 });
term.open(document.getElementById('terminal'));
term.focus();

const encoder = new TextEncoder();
const ws = new WebSocket(websocketUrl(), ['binary']);
ws.binaryType = 'arraybuffer';
show('Connecting…', 'connecting');

ws.addEventListener('open', () => show('Connected', 'connected'));
ws.addEventListener('message', (event) => {
    term.write(typeof event.data === 'string' ? event.data : new Uint8Array(event.data));
});
ws.addEventListener('close', (event) => {
    const reason = event.reason ? `: ${event.reason}` : '';
    const clean = event.code === 1000 || event.code === 1005;
    show(`Disconnected (${event.code}${reason})`, clean ? 'disconnected' : 'failed');
    term.write(`\r\n[connection closed${reason}]\r\n`);
});

term.onData((data) => {
    if (ws.readyState === WebSocket.OPEN) {
        ws.send(encoder.encode(data));
    }
});
term.onBinary((data) => {
    if (ws.readyState === WebSocket.OPEN) {
        ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
    }
});
