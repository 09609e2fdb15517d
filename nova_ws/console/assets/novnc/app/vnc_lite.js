// vnc_lite.html: connect at once, show the status, offer Ctrl+Alt+Del.

import { StatusBar, Viewer } from './viewer.js';

const ui = new StatusBar(document.getElementById('status'),
    document.getElementById('password-form'));
const viewer = new Viewer(document.getElementById('screen'), ui);
document.getElementById('send-ctrl-alt-del')
    .addEventListener('click', () => viewer.sendCtrlAltDel());
viewer.connect();
