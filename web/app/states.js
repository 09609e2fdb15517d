// Nova's states as the dashboard shows them: status from vm_state and
// task_state (the API's map), power state names, and which actions a state
// allows (the conductor's state machine, so buttons match what will work).

const STATUS = {
    active: {
        default: 'ACTIVE', rebooting: 'REBOOT', reboot_pending: 'REBOOT', reboot_started: 'REBOOT',
        rebooting_hard: 'HARD_REBOOT', reboot_pending_hard: 'HARD_REBOOT',
        reboot_started_hard: 'HARD_REBOOT', rebuilding: 'REBUILD', migrating: 'MIGRATING',
        resize_prep: 'RESIZE', resize_migrating: 'RESIZE', resize_migrated: 'RESIZE',
        resize_finish: 'RESIZE', updating_password: 'PASSWORD',
    },
    building: { default: 'BUILD' },
    stopped: { default: 'SHUTOFF', rebuilding: 'REBUILD' },
    resized: { default: 'VERIFY_RESIZE' },
    paused: { default: 'PAUSED', migrating: 'MIGRATING' },
    suspended: { default: 'SUSPENDED' },
    rescued: { default: 'RESCUE' },
    error: { default: 'ERROR', rebuilding: 'REBUILD' },
    deleted: { default: 'DELETED' },
    'soft-delete': { default: 'SOFT_DELETED' },
    shelved: { default: 'SHELVED' },
    shelved_offloaded: { default: 'SHELVED_OFFLOADED' },
};

/** The API status of a server (UNKNOWN for states Nova does not name). */
export function status(vmState, taskState) {
    const byTask = STATUS[vmState] ?? {};
    return byTask[taskState] ?? byTask.default ?? 'UNKNOWN';
}

const POWER = { 0: 'NOSTATE', 1: 'RUNNING', 3: 'PAUSED', 4: 'SHUTDOWN', 6: 'CRASHED', 7: 'SUSPENDED' };

/** A power_state number as its name. */
export function powerState(value) {
    return POWER[value] ?? (value === null || value === undefined ? '' : String(value));
}

const BUSY = ['scheduling', 'networking', 'spawning', 'powering-off', 'powering-on', 'rebooting',
    'rebooting_hard', 'pausing', 'unpausing', 'suspending', 'resuming', 'rebuilding', 'rebuild_spawning'];

/**
 * The actions, in the order the buttons show them: label, the vm_states
 * they start from, the task_states they may interrupt (default: idle only),
 * and whether a person must confirm (they end the guest's work or console).
 */
export const ACTIONS = [
    { name: 'start', label: 'Start', from: ['stopped'] },
    { name: 'stop', label: 'Stop', from: ['active', 'error'], confirm: true },
    { name: 'reboot', label: 'Reboot', from: ['active', 'stopped', 'paused', 'suspended', 'error'], confirm: true },
    { name: 'pause', label: 'Pause', from: ['active'] },
    { name: 'unpause', label: 'Unpause', from: ['paused'] },
    { name: 'suspend', label: 'Suspend', from: ['active'], confirm: true },
    { name: 'resume', label: 'Resume', from: ['suspended'] },
    {
        name: 'delete', label: 'Delete', from: ['active', 'building', 'paused', 'suspended', 'stopped', 'error'],
        tasks: [null, ...BUSY], confirm: true,
    },
];

/** The actions a server in (vmState, taskState) allows. */
export function allowedActions(vmState, taskState) {
    return ACTIONS.filter((a) => a.from.includes(vmState) && (a.tasks ?? [null]).includes(taskState ?? null));
}

/** The body of POST /servers/{id}/action for an action (delete is DELETE /servers/{id}). */
export function actionRequest(name) {
    switch (name) {
    case 'start': return { 'os-start': null };
    case 'stop': return { 'os-stop': null };
    case 'reboot': return { reboot: { type: 'SOFT' } };
    default: return { [name]: null };
    }
}

/** What a console's close means, from the task that closes it (the conductor's reasons). */
export const CONSOLE_ENDING_TASKS = {
    deleting: 'instance deleted',
    'powering-off': 'instance stopped',
    suspending: 'instance suspended',
    rebuilding: 'instance rebuilt',
    rebuild_spawning: 'instance rebuilt',
};

/** The reason a live console of a server in this state was closed, or null if it still runs. */
export function consoleEnded(server) {
    if (server.vm_state === 'deleted' || server.deleted) {
        return 'instance deleted';
    }
    return CONSOLE_ENDING_TASKS[server.task_state] ?? (
        server.vm_state === 'stopped' ? 'instance stopped'
            : server.vm_state === 'suspended' ? 'instance suspended' : null);
}
