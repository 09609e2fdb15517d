// vnc.html: the console with controls.

import { flag, params, StatusBar, Viewer } from './viewer.js';

const $ = (id) => document.getElementById(id);
let wanted = false;  // the user asked to be connected

class Controls extends StatusBar {
    status(text, state) {
        super.status(text, state);
        const live = state === 'connected';
        const busy = live || state === 'connecting' || state === 'password';
        $('connect').hidden = busy;
        $('disconnect').hidden = !busy;
        $('send-ctrl-alt-del').disabled = !live;
        if ((state === 'disconnected' || state === 'failed') && wanted && !viewer.failed
                && flag('reconnect')) {
            const delay = Number(params.get('reconnect_delay') || 5000);
            this.element.textContent = `${text}; reconnecting…`;
            window.setTimeout(() => wanted && viewer.connect(), delay);
        }
    }

    clipboard(text) {
        $('clipboard').value = text;
    }
}

const ui = new Controls($('status'), $('password-form'));
const viewer = new Viewer($('screen'), ui, {});

$('scale').checked = flag('scale') || params.get('resize') === 'scale';
$('view-only').checked = flag('view_only');

$('connect').addEventListener('click', () => {
    wanted = true;
    viewer.options.scale = $('scale').checked;
    viewer.connect();
    if (viewer.rfb) {
        viewer.rfb.viewOnly = $('view-only').checked;
    }
});
$('disconnect').addEventListener('click', () => {
    wanted = false;
    viewer.disconnect();
});
$('send-ctrl-alt-del').addEventListener('click', () => viewer.sendCtrlAltDel());
$('scale').addEventListener('change', (e) => {
    viewer.options.scale = e.target.checked;
    if (viewer.rfb) {
        viewer.rfb.scaleViewport = e.target.checked;
    }
});
$('view-only').addEventListener('change', (e) => {
    if (viewer.rfb) {
        viewer.rfb.viewOnly = e.target.checked;
    }
});
$('fullscreen').addEventListener('click', () => {
    if (document.fullscreenElement) {
        document.exitFullscreen();
    } else {
        document.documentElement.requestFullscreen();
    }
});
$('paste').addEventListener('click', () => viewer.paste($('clipboard').value));

ui.status('Disconnected', 'disconnected');
if (flag('autoconnect')) {
    $('connect').click();
}
