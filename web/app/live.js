// The live connection: one WAMP session on the router, authenticated with
// WAMP-Ticket (authid = the user name, ticket = the Identity token). Views
// register their subscriptions here; they are made again after every
// reconnect, and 'ready' tells views to reload what they may have missed.
//
// Events (EventTarget): 'state' {detail: {state, text}} with state one of
// connecting, live, reconnecting, denied, unavailable; 'ready' after every
// (re)join, once the subscriptions are in place.

const DENIED = new Set(['wamp.error.not_authorized', 'wamp.error.authentication_failed',
    'wamp.error.authorization_failed', 'wamp.error.no_such_realm']);

export class Live extends EventTarget {
    constructor({ url, realm, user, token }) {
        super();
        this.options = { url, realm, user, token };
        this.subscriptions = new Set();
        this.session = null;
        this.connection = null;
        this.state = 'connecting';
    }

    /** Open the connection (and keep reopening it until stop()). */
    start() {
        const { url, realm, user, token } = this.options;
        if (!url) {
            this._state('unavailable', 'Live updates unavailable: the router has no WebSocket');
            return;
        }
        if (!window.autobahn) {
            this._state('unavailable', 'Live updates unavailable: the WAMP library did not load');
            return;
        }
        this.connection = new window.autobahn.Connection({
            url,
            realm,
            authmethods: ['ticket'],
            authid: user,
            onchallenge: () => token,
            max_retries: -1,
            initial_retry_delay: 0.5,
            max_retry_delay: 10,
            retry_delay_growth: 1.5,
        });
        this.connection.onopen = (session) => this._opened(session);
        this.connection.onclose = (reason, details) => this._closed(reason, details);
        this._state('connecting', 'Connecting…');
        this.connection.open();
    }

    /** Close for good (logging out). */
    stop() {
        this.stopped = true;
        const connection = this.connection;
        this.connection = null;
        this.session = null;
        if (connection && connection.isOpen) {
            connection.close();
        }
    }

    /**
     * Subscribe `handler(args, kwargs, details)` to `topic` now (if joined)
     * and after every reconnect. Returns a function that unsubscribes.
     */
    subscribe(topic, handler, options = {}) {
        const entry = { topic, handler, options, subscription: null };
        this.subscriptions.add(entry);
        if (this.session) {
            this._subscribe(this.session, entry).catch((error) => this._failed(entry, error));
        }
        return () => {
            this.subscriptions.delete(entry);
            if (entry.subscription && this.session) {
                this.session.unsubscribe(entry.subscription).catch(() => {});
            }
        };
    }

    /** Call a WAMP procedure (admin meta procedures). */
    call(procedure, args = [], kwargs = {}) {
        if (!this.session) {
            return Promise.reject(new Error('not connected to the router'));
        }
        return this.session.call(procedure, args, kwargs);
    }

    async _subscribe(session, entry) {
        entry.subscription = await session.subscribe(entry.topic, entry.handler, entry.options);
    }

    _failed(entry, error) {
        const reason = error?.error ?? error?.message ?? String(error);
        this.dispatchEvent(new CustomEvent('error', {
            detail: { text: `Cannot follow ${entry.topic}: ${reason}` },
        }));
    }

    async _opened(session) {
        this.session = session;
        await Promise.all([...this.subscriptions].map(
            (entry) => this._subscribe(session, entry).catch((error) => this._failed(entry, error))));
        if (this.session !== session) {
            return;
        }
        this._state('live', 'Live');
        this.dispatchEvent(new Event('ready'));
    }

    _closed(reason, details) {
        this.session = null;
        for (const entry of this.subscriptions) {
            entry.subscription = null;
        }
        if (this.stopped) {
            return true;
        }
        if (DENIED.has(details?.reason)) {
            this._state('denied', `Live updates refused (${details.message || details.reason})`);
            return true;  // do not retry: the token is not accepted
        }
        const retry = details?.will_retry;
        this._state('reconnecting', retry === false
            ? 'Live updates stopped: the router cannot be reached'
            : 'Reconnecting…');
        return false;
    }

    _state(state, text) {
        this.state = state;
        this.dispatchEvent(new CustomEvent('state', { detail: { state, text } }));
    }
}
