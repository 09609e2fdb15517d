// The dashboard's start: settings, log in (Identity v3), the live WAMP
// session, and the views behind the address's #fragment.

import { Api, login } from './api.js';
import { announce, clearErrors, h, showError } from './dom.js';
import { Live } from './live.js';
import { ServerStore } from './store.js';

const SESSION_KEY = 'nova_ws.session';
const $ = (id) => document.getElementById(id);

let settings = null;
let ctx = null;
let view = null;

async function loadSettings() {
    const response = await fetch('dashboard/config.json', { cache: 'no-store' });
    if (!response.ok) {
        throw new Error(`the dashboard's settings did not load (${response.status})`);
    }
    return response.json();
}

function saved() {
    try {
        const session = JSON.parse(window.sessionStorage.getItem(SESSION_KEY));
        if (session && new Date(session.expires) > new Date()) {
            return session;
        }
    } catch {
        // nothing usable saved
    }
    return null;
}

function showLogin(message = '') {
    document.documentElement.dataset.view = 'login';
    $('nav').hidden = true;
    $('session').hidden = true;
    $('view').replaceChildren();
    const form = $('login');
    form.hidden = false;
    $('login-error').textContent = message;
    (form.elements.user.value ? form.elements.password : form.elements.user).focus();
}

async function submitLogin(event) {
    event.preventDefault();
    const form = event.target;
    const fields = Object.fromEntries(new FormData(form));
    if (!fields.project) {
        fields.project = fields.user;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    $('login-error').textContent = '';
    try {
        const { token, body } = await login(fields);
        const session = {
            token,
            user: body.user.name,
            project: body.project.name,
            projectId: body.project.id,
            admin: (body.roles ?? []).some((r) => r.name === 'admin'),
            expires: body.expires_at,
        };
        window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
        form.elements.password.value = '';
        start(session);
    } catch (error) {
        $('login-error').textContent = error.status === 401
            ? 'The user name, password or project is not right.'
            : `Cannot log in: ${error.message}`;
    } finally {
        button.disabled = false;
    }
}

async function logout(message = '') {
    const current = ctx;
    ctx = null;
    view?.unmount?.();
    view = null;
    window.sessionStorage.removeItem(SESSION_KEY);
    clearErrors();
    if (current) {
        current.live.stop();
        await current.api.revoke();
    }
    showLogin(message);
}

function start(session) {
    clearErrors();
    $('login').hidden = true;
    const api = new Api(session.token, () => {
        if (ctx?.api === api) {
            logout('Your session has ended: please log in again.');
        }
    });
    const live = new Live({
        url: settings.router.url, realm: settings.router.realm, user: session.user, token: session.token,
    });
    const store = new ServerStore(api);
    ctx = { session, api, live, store, imageNames: new Map() };

    $('whoami').textContent = `${session.user} · ${session.project}`;
    $('session').hidden = false;
    $('nav').hidden = false;
    for (const link of document.querySelectorAll('#nav [data-admin]')) {
        link.hidden = !session.admin;
    }
    live.addEventListener('state', ({ detail }) => {
        $('live').dataset.state = detail.state;
        $('live').textContent = detail.text;
        if (detail.state === 'denied' || detail.state === 'unavailable') {
            showError(detail.text);
        }
    });
    live.addEventListener('error', ({ detail }) => showError(detail.text));
    live.subscribe(`nova.project.${session.projectId}.instance`, ([instance]) => store.apply(instance));
    live.addEventListener('ready', () => reload(store));
    live.start();
    reload(store);
    api.images().then((answer) => {
        ctx.imageNames = new Map(answer.images.map((i) => [i.id, i.name || i.id]));
    }).catch((error) => showError(`Cannot list images: ${error.message}`));
    route();
}

async function reload(store) {
    try {
        await store.reload();
    } catch (error) {
        showError(`Cannot list servers: ${error.message}`);
    }
}

async function route() {
    if (!ctx) {
        return;
    }
    const parts = window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
    view?.unmount?.();
    view = null;
    const container = $('view');
    let section = 'servers';
    if (parts[0] === 'admin' && ctx.session.admin) {
        section = parts[1] === 'hypervisors' ? 'hypervisors' : 'services';
        const { HypervisorsView, ServicesView } = await import('./admin.js');
        view = section === 'hypervisors' ? new HypervisorsView(ctx) : new ServicesView(ctx);
    } else if (parts[0] === 'servers' && parts[1]) {
        const { ServerView } = await import('./server.js');
        view = new ServerView(ctx, decodeURIComponent(parts[1]), parts[2]);
    } else {
        const { ServersView } = await import('./servers.js');
        view = new ServersView(ctx);
    }
    if (!ctx) {
        return;
    }
    document.documentElement.dataset.view = section === 'servers' && parts[1] ? 'server' : section;
    document.title = 'nova_ws';
    for (const link of document.querySelectorAll('#nav a')) {
        if (link.dataset.section === section) {
            link.setAttribute('aria-current', 'page');
        } else {
            link.removeAttribute('aria-current');
        }
    }
    view.mount(container);
}

async function boot() {
    $('login').addEventListener('submit', submitLogin);
    $('logout').addEventListener('click', () => logout());
    window.addEventListener('hashchange', () => {
        route().catch((error) => showError(`This view failed: ${error.message}`));
        $('main').focus({ preventScroll: true });
    });
    try {
        settings = await loadSettings();
    } catch (error) {
        document.documentElement.dataset.view = 'failed';
        $('view').append(h('p', { className: 'error', role: 'alert' }, `The dashboard cannot start: ${error.message}`));
        return;
    }
    const session = saved();
    if (session) {
        start(session);
        announce(`Logged in as ${session.user}`);
    } else {
        showLogin();
    }
}

window.addEventListener('unhandledrejection', (event) => {
    showError(`Something went wrong: ${event.reason?.message ?? event.reason}`);
});

boot();
