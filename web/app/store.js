// The project's servers, as the API lists them and as WAMP events change them.
//
// reload() lists them (GET /servers/detail); apply(view) takes an instance
// event (nova.project.<id>.instance). An event that arrives while a list is
// on its way wins over the list's (older) copy of that server, so nothing
// pushed is lost to a reload. 'change' events carry {id, server} (server is
// null once the server is deleted).

import { parseTime } from './dom.js';
import { status } from './states.js';

function fromApi(doc) {
    return {
        id: doc.id,
        name: doc.name,
        vm_state: doc['OS-EXT-STS:vm_state'],
        task_state: doc['OS-EXT-STS:task_state'] ?? null,
        power_state: doc['OS-EXT-STS:power_state'],
        host: doc['OS-EXT-SRV-ATTR:host'] ?? null,
        flavor: doc.flavor?.original_name ?? doc.flavor?.id ?? '',
        image: typeof doc.image === 'object' ? doc.image?.id ?? '' : '',
        zone: doc['OS-EXT-AZ:availability_zone'] ?? '',
        created: parseTime(doc.created),
        launched: parseTime(doc['OS-SRV-USG:launched_at']),
    };
}

function fromEvent(view, known) {
    return {
        id: view.uuid,
        name: view.name,
        vm_state: view.vm_state,
        task_state: view.task_state ?? null,
        power_state: view.power_state,
        host: view.host ?? known?.host ?? null,
        flavor: view.flavor?.name ?? known?.flavor ?? '',
        image: view.image_ref ?? known?.image ?? '',
        zone: view.availability_zone ?? known?.zone ?? '',
        // events do not say when a server was made: the first sight is close
        created: known?.created ?? new Date(),
        launched: parseTime(view.launched_at) ?? known?.launched ?? null,
    };
}

export class ServerStore extends EventTarget {
    constructor(api) {
        super();
        this.api = api;
        this.servers = new Map();
        this.deleted = new Set();
        this.loaded = false;
        this._touched = null;
    }

    get(id) {
        return this.servers.get(id) ?? null;
    }

    /** The servers, newest first. */
    list() {
        return [...this.servers.values()].sort(
            (a, b) => (b.created?.getTime() ?? 0) - (a.created?.getTime() ?? 0) || a.name.localeCompare(b.name));
    }

    /** List the servers again (at login and after every reconnect). */
    async reload() {
        const touched = new Set();
        this._touched = touched;
        let answer;
        try {
            answer = await this.api.compute('GET', '/servers/detail');
        } finally {
            if (this._touched === touched) {
                this._touched = null;
            }
        }
        const listed = new Set();
        for (const doc of answer.servers) {
            listed.add(doc.id);
            if (touched.has(doc.id) || this.deleted.has(doc.id)) {
                continue;
            }
            this._set(fromApi(doc));
        }
        for (const id of [...this.servers.keys()]) {
            if (!listed.has(id) && !touched.has(id)) {
                this._remove(id);  // deleted while we were not listening
            }
        }
        this.loaded = true;
        this.dispatchEvent(new Event('loaded'));
    }

    /** Take an instance event. */
    apply(view) {
        if (!view || !view.uuid) {
            return;
        }
        this._touched?.add(view.uuid);
        if (view.vm_state === 'deleted') {
            this.deleted.add(view.uuid);
            this._remove(view.uuid);
            return;
        }
        if (this.deleted.has(view.uuid)) {
            return;  // a late event of a deleted server
        }
        this._set(fromEvent(view, this.servers.get(view.uuid)));
    }

    _set(server) {
        server.status = status(server.vm_state, server.task_state);
        this.servers.set(server.id, server);
        this.dispatchEvent(new CustomEvent('change', { detail: { id: server.id, server } }));
    }

    _remove(id) {
        if (this.servers.delete(id)) {
            this.dispatchEvent(new CustomEvent('change', { detail: { id, server: null } }));
        }
    }
}
