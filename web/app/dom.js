// Small DOM helpers: building elements, messages for people, confirmation.

/**
 * h('button', {type: 'button', onclick: f, 'aria-label': 'x'}, 'text', child...)
 * Properties: className, text, hidden, disabled, value, on<event>; any other
 * key is an attribute. Children: strings, nodes, null (skipped), arrays.
 */
export function h(tag, props = {}, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) {
            continue;
        }
        if (key.startsWith('on') && typeof value === 'function') {
            element.addEventListener(key.slice(2), value);
        } else if (key === 'className') {
            element.className = value;
        } else if (key === 'text') {
            element.textContent = value;
        } else if (key === 'hidden' || key === 'disabled' || key === 'value'
                   || key === 'checked' || key === 'selected') {
            element[key] = value;
        } else {
            element.setAttribute(key, value === true ? '' : String(value));
        }
    }
    append(element, children);
    return element;
}

function append(element, children) {
    for (const child of children) {
        if (child === null || child === undefined || child === false) {
            continue;
        }
        if (Array.isArray(child)) {
            append(element, child);
        } else {
            element.append(child instanceof Node ? child : String(child));
        }
    }
}

/** Replace every child of `element` with `children`. */
export function fill(element, ...children) {
    element.replaceChildren();
    append(element, children);
    return element;
}

/** Say `text` to screen readers (polite). */
export function announce(text) {
    const region = document.getElementById('announcer');
    region.textContent = '';
    // a change of text is what assistive technology announces
    window.setTimeout(() => { region.textContent = text; }, 50);
}

/** Show an error people can read and dismiss; nothing fails silently. */
export function showError(message) {
    const errors = document.getElementById('errors');
    const item = h('div', { className: 'message error' },
        h('span', { text: message }),
        h('button', {
            type: 'button', className: 'dismiss', 'aria-label': 'Dismiss message',
            onclick: () => item.remove(),
        }, '×'));
    errors.append(item);
    while (errors.children.length > 5) {
        errors.firstElementChild.remove();
    }
    return item;
}

/** Remove every error message (after logging in or out). */
export function clearErrors() {
    document.getElementById('errors').replaceChildren();
}

/**
 * Ask for confirmation in the page's modal dialog; resolves true for OK.
 * The dialog traps focus and Escape cancels, as <dialog> does.
 */
export function confirmAction({ title, text, ok = 'OK' }) {
    const dialog = document.getElementById('confirm');
    if (!dialog.dataset.ready) {
        dialog.dataset.ready = 'yes';
        // A 'close' event is delivered later than the closing itself: one that
        // arrives while the dialog is open again belongs to an earlier question.
        dialog.addEventListener('close', () => {
            if (!dialog.open) {
                pendingAnswer?.(dialog.returnValue === 'ok');
            }
        });
    }
    pendingAnswer?.(false);  // an earlier question not answered yet: no
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-ok').textContent = ok;
    dialog.returnValue = '';
    return new Promise((resolve) => {
        const answer = (value) => {
            if (pendingAnswer === answer) {
                pendingAnswer = null;
                resolve(value);
            }
        };
        pendingAnswer = answer;
        if (!dialog.open) {
            dialog.showModal();
        }
        dialog.querySelector('button[value=cancel]').focus();
    });
}

let pendingAnswer = null;

/** "3 s", "5 min", "2 h", "4 d" since `when` (a Date), or "" without one. */
export function age(when, now = Date.now()) {
    if (!when || Number.isNaN(when.getTime())) {
        return '';
    }
    const seconds = Math.max(0, Math.round((now - when.getTime()) / 1000));
    if (seconds < 60) {
        return `${seconds} s`;
    }
    if (seconds < 3600) {
        return `${Math.floor(seconds / 60)} min`;
    }
    if (seconds < 86400) {
        return `${Math.floor(seconds / 3600)} h`;
    }
    return `${Math.floor(seconds / 86400)} d`;
}

/** A time the APIs give (with or without "Z") as a Date, or null. */
export function parseTime(text) {
    if (!text) {
        return null;
    }
    const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`;
    const when = new Date(iso);
    return Number.isNaN(when.getTime()) ? null : when;
}
