// The one client of the API: same origin, session cookie, CSRF token on every state change.

let csrf = null;
export const session = { user: null, role: null };

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path, params) => call('GET', params ? `${path}?${new URLSearchParams(params)}` : path);

export async function restore() {
  try {
    const s = await get('/v1/session');
    csrf = s.csrf ?? null;
    Object.assign(session, { user: s.user, role: s.role });
    return true;
  } catch {
    return false;
  }
}

export async function login(user, password) {
  const s = await call('POST', '/v1/session', { user, password });
  csrf = s.csrf;
  Object.assign(session, { user: s.user, role: s.role });
}

export async function logout() {
  try {
    await call('DELETE', '/v1/session');
  } finally {
    csrf = null;
    Object.assign(session, { user: null, role: null });
  }
}

export const isLead = () => session.role === 'lead' || session.role === 'admin';
