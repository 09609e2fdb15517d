// The APIs of this server (same origin): Identity v3, Compute v2.1, Image v2.
// Every failure becomes an ApiError whose message a person can read.

/** The Compute microversion the dashboard speaks (remote-consoles, flavor names, action events). */
export const COMPUTE_VERSION = '2.79';
/** Hypervisor usage (RAM, CPU, disk) is gone from 2.88, as in Nova. */
export const HYPERVISOR_VERSION = '2.87';

export class ApiError extends Error {
    constructor(status, message) {
        super(message);
        this.status = status;
    }
}

/** The message of an error answer: Nova's fault, Identity's or Image's error, or the text. */
export async function errorMessage(response) {
    let text = '';
    try {
        text = await response.text();
        const body = JSON.parse(text);
        const inner = body.error ?? Object.values(body).find((v) => v && typeof v === 'object');
        const message = inner?.message ?? body.message;
        if (message) {
            return String(message);
        }
    } catch {
        // not JSON: fall through to the text or the status
    }
    text = text.trim();
    if (text && text.length < 300 && !text.startsWith('<')) {
        return text;
    }
    return `${response.status} ${response.statusText || 'error'}`;
}

async function send(url, options) {
    try {
        return await fetch(url, { credentials: 'omit', cache: 'no-store', ...options });
    } catch (error) {
        throw new ApiError(0, `The server cannot be reached (${error.message}).`);
    }
}

/**
 * Log in with a password, scoped to a project: {token, body} (body is the
 * Identity token document: user, project, roles, expires_at).
 */
export async function login({ user, password, project, domain = 'Default' }) {
    const body = {
        auth: {
            identity: {
                methods: ['password'],
                password: { user: { name: user, domain: { name: domain }, password } },
            },
            scope: { project: { name: project, domain: { name: domain } } },
        },
    };
    const response = await send('identity/v3/auth/tokens', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
    });
    if (response.status !== 201) {
        throw new ApiError(response.status, await errorMessage(response));
    }
    const token = response.headers.get('X-Subject-Token');
    return { token, body: (await response.json()).token };
}

/** The APIs as one logged-in person. `onExpired` is called on 401. */
export class Api {
    constructor(token, onExpired = () => {}) {
        this.token = token;
        this.onExpired = onExpired;
    }

    async request(method, path, { body, version = COMPUTE_VERSION, headers = {} } = {}) {
        const response = await send(path, {
            method,
            headers: {
                'X-Auth-Token': this.token,
                'OpenStack-API-Version': `compute ${version}`,
                Accept: 'application/json',
                ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
                ...headers,
            },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (response.status === 401) {
            this.onExpired();
        }
        if (!response.ok) {
            throw new ApiError(response.status, await errorMessage(response));
        }
        const text = await response.text();
        return text ? JSON.parse(text) : null;
    }

    compute(method, path, body, version) {
        return this.request(method, `compute/v2.1${path}`, { body, version });
    }

    images() {
        return this.request('GET', 'image/v2/images');
    }

    /** POST /servers/{id}/action with `{name: argument}`. */
    action(id, name, argument = null) {
        return this.compute('POST', `/servers/${encodeURIComponent(id)}/action`, { [name]: argument });
    }

    /** A console URL of `type` (novnc, spice-html5, serial) for server `id`. */
    async console(id, type, viewOnly = false) {
        const protocol = { novnc: 'vnc', 'spice-html5': 'spice', serial: 'serial' }[type];
        const remote = { protocol, type };
        if (viewOnly) {
            remote.view_only = true;
        }
        const answer = await this.compute('POST', `/servers/${encodeURIComponent(id)}/remote-consoles`,
            { remote_console: remote });
        return answer.remote_console.url;
    }

    /** End this token (log out); errors are ignored, the token is dropped anyway. */
    async revoke() {
        try {
            await send('identity/v3/auth/tokens', {
                method: 'DELETE',
                headers: { 'X-Auth-Token': this.token, 'X-Subject-Token': this.token },
            });
        } catch {
            // the server is gone: nothing to revoke
        }
    }
}
