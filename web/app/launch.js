// The launch dialog: name, flavor, image, count, availability zone; then
// each new server's progress to ACTIVE, as the events report it.

import { announce, fill, h } from './dom.js';

const STEPS = { scheduling: 1, networking: 2, 'block_device_mapping': 2, spawning: 3 };
const TOTAL = 4;

function progressOf(server) {
    if (!server) {
        return 0;
    }
    if (server.status === 'ACTIVE') {
        return TOTAL;
    }
    return STEPS[server.task_state] ?? 0;
}

function field(label, control) {
    return h('label', {}, label, control);
}

async function choices(ctx) {
    const [flavors, images, zones] = await Promise.all([
        ctx.api.compute('GET', '/flavors/detail'),
        ctx.api.images(),
        ctx.api.compute('GET', '/os-availability-zone').catch(() => ({ availabilityZoneInfo: [] })),
    ]);
    return {
        flavors: flavors.flavors,
        images: images.images.filter((i) => !i.status || i.status === 'active'),
        zones: zones.availabilityZoneInfo.filter((z) => z.zoneState?.available).map((z) => z.zoneName),
    };
}

/** Open the launch dialog. */
export async function openLaunch(ctx) {
    const dialog = h('dialog', { id: 'launch-dialog', 'aria-labelledby': 'launch-title' });
    const body = h('div', {}, h('p', {}, 'Loading flavors and images…'));
    dialog.append(h('h2', { id: 'launch-title' }, 'Launch servers'), body);
    dialog.addEventListener('close', () => {
        dialog.cleanup?.();
        dialog.remove();
        document.getElementById('launch')?.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
    let options;
    try {
        options = await choices(ctx);
    } catch (error) {
        fill(body, h('p', { className: 'error', role: 'alert' }, `Cannot launch: ${error.message}`),
            h('div', { className: 'buttons' }, h('button', { type: 'button', onclick: () => dialog.close() }, 'Close')));
        return;
    }
    const error = h('p', { className: 'error', role: 'alert' });
    const form = h('form', { id: 'launch-form' },
        field('Name', h('input', { name: 'name', required: true, maxlength: 255, autocomplete: 'off' })),
        field('Flavor', h('select', { name: 'flavor', required: true },
            options.flavors.map((f) => h('option', { value: f.id },
                `${f.name} (${f.vcpus} vCPU, ${f.ram} MB RAM, ${f.disk} GB disk)`)))),
        field('Image', h('select', { name: 'image', required: true },
            options.images.map((i) => h('option', { value: i.id }, i.name || i.id)))),
        field('Count', h('input', { name: 'count', type: 'number', min: 1, value: '1', required: true })),
        field('Availability zone', h('select', { name: 'zone' },
            h('option', { value: '' }, 'Any'),
            options.zones.map((z) => h('option', { value: z }, z)))),
        error,
        h('div', { className: 'buttons' },
            h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
            h('button', { type: 'submit', className: 'primary' }, 'Launch')));
    form.addEventListener('submit', (event) => {
        event.preventDefault();
        launch(ctx, dialog, body, form, error);
    });
    fill(body, form);
    form.elements.name.focus();
}

async function launch(ctx, dialog, body, form, error) {
    const data = new FormData(form);
    const name = String(data.get('name')).trim();
    const count = Number(data.get('count'));
    if (!name) {
        error.textContent = 'A name is needed.';
        return;
    }
    if (!Number.isInteger(count) || count < 1) {
        error.textContent = 'The count must be a whole number of at least 1.';
        return;
    }
    const server = {
        name, flavorRef: data.get('flavor'), imageRef: data.get('image'),
        min_count: count, max_count: count, networks: 'none',
    };
    if (data.get('zone')) {
        server.availability_zone = data.get('zone');
    }
    const before = new Set(ctx.store.servers.keys());
    form.querySelector('button[type=submit]').disabled = true;
    error.textContent = '';
    try {
        await ctx.api.compute('POST', '/servers', { server });
    } catch (failure) {
        error.textContent = `The servers were not launched: ${failure.message}`;
        form.querySelector('button[type=submit]').disabled = false;
        return;
    }
    const names = count === 1 ? [name] : Array.from({ length: count }, (_, i) => `${name}-${i + 1}`);
    showProgress(ctx, dialog, body, names, before);
}

function showProgress(ctx, dialog, body, names, before) {
    const summary = h('p', { role: 'status', id: 'launch-summary' });
    const items = new Map(names.map((n) => {
        const bar = h('progress', { max: TOTAL, value: 0, 'aria-label': `Progress of ${n}` });
        const state = h('span', { className: 'state' }, 'requested');
        return [n, { bar, state, row: h('li', { 'data-name': n }, h('span', { className: 'name' }, n), bar, state) }];
    }));
    const close = h('button', { type: 'button', onclick: () => dialog.close() }, 'Close');
    fill(body, h('ul', { className: 'progress-list' }, [...items.values()].map((i) => i.row)), summary,
        h('div', { className: 'buttons' }, close));
    close.focus();

    const update = () => {
        const found = ctx.store.list().filter((s) => !before.has(s.id) && items.has(s.name));
        let active = 0;
        let failed = 0;
        for (const server of found) {
            const item = items.get(server.name);
            item.bar.value = progressOf(server);
            item.state.textContent = server.task_state ? `${server.status} (${server.task_state})` : server.status;
            item.row.dataset.status = server.status;
            active += server.status === 'ACTIVE' ? 1 : 0;
            failed += server.status === 'ERROR' ? 1 : 0;
        }
        const done = active + failed === names.length;
        summary.textContent = done
            ? (failed ? `${active} of ${names.length} active, ${failed} failed.` : `All ${names.length} active.`)
            : `${active} of ${names.length} active…`;
        if (done) {
            dialog.dataset.done = failed ? 'failed' : 'active';
            announce(summary.textContent);
        }
    };
    ctx.store.addEventListener('change', update);
    dialog.cleanup = () => ctx.store.removeEventListener('change', update);
    update();
}
