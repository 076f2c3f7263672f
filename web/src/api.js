// The advisor's HTTP API as the widget calls it: bearer token from the host's tokenProvider
// (one shared call at a time; asked again once after a 401), errors turned into readable, retryable-or-not reasons.

export const UNREACHABLE = "The advisor can't be reached right now. Check your connection and try again.";

/** A failed request: `status` 0 when the server could not be reached at all. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  /** Whether trying again later may help (server down, 5xx, timeouts, rate limits). */
  get retryable() {
    return this.status === 0 || this.status >= 500 || [401, 408, 425, 429].includes(this.status);
  }
}

/** The `detail` of an error body (the API's ErrorBody), or a reason from the status. */
export async function reasonOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const detail = body && body.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) return detail.map((d) => d.msg || String(d)).join("; ");
  if (response.status === 401) return "Your sign-in has expired. Sign in again and retry.";
  if (response.status >= 500) return `The advisor is unavailable right now (${response.status}).`;
  return `The request was refused (${response.status}).`;
}

export class Api {
  /** `host` gives `apiBase` and `tokenProvider` (read on every call: the host may change them). */
  constructor(host) {
    this.host = host;
    this.reset();
  }

  /** Forget the token (a new provider: another customer); a provider call in flight is dropped. */
  reset() {
    this.token = null;
    this.pending = null;
    this.generation = (this.generation || 0) + 1;
  }

  url(path) {
    return `${this.host.apiBase}${path}`;
  }

  /** The token to send: the one held, else one shared call of the provider (single flight). */
  bearer() {
    if (typeof this.host.tokenProvider !== "function") return Promise.resolve(null);
    return this.token !== null ? Promise.resolve(this.token) : this.ask();
  }

  /** After `used` got a 401: a token refreshed since then, else one shared fresh ask. */
  refresh(used) {
    if (this.token !== null && this.token !== used) return Promise.resolve(this.token);
    if (this.pending) return this.pending;
    this.token = null;
    return this.ask();
  }

  ask() {
    if (this.pending) return this.pending;
    const generation = this.generation;
    const asked = Promise.resolve()
      .then(() => this.host.tokenProvider())
      .then((token) => {
        if (generation === this.generation) this.token = token || null;
        return token || null;
      })
      .finally(() => {
        if (this.pending === asked) this.pending = null;
      });
    this.pending = asked;
    return asked;
  }

  /** The response of an OK request; a 401 asks the token provider again (shared) and retries once. */
  async fetch(path, { method = "GET", body, headers = {}, signal } = {}) {
    const used = await this.tokenOf(() => this.bearer());
    let response = await this.send(path, method, body, headers, signal, used);
    if (response.status === 401 && typeof this.host.tokenProvider === "function") {
      const fresh = await this.tokenOf(() => this.refresh(used));
      response = await this.send(path, method, body, headers, signal, fresh);
    }
    if (!response.ok) throw new ApiError(response.status, await reasonOf(response));
    return response;
  }

  async tokenOf(get) {
    try {
      return await get();
    } catch {
      throw new ApiError(401, "Could not get a sign-in token from the page. Sign in again and retry.");
    }
  }

  async send(path, method, body, headers, signal, token) {
    const all = { Accept: "application/json", ...headers };
    if (token) all.Authorization = `Bearer ${token}`;
    if (body !== undefined) all["Content-Type"] = "application/json";
    const json = body === undefined ? undefined : JSON.stringify(body);
    try {
      return await fetch(this.url(path), { method, headers: all, body: json, signal });
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError(0, UNREACHABLE);
    }
  }

  /** JSON of an OK request. */
  async json(path, options) {
    const response = await this.fetch(path, options);
    return response.status === 204 ? null : response.json();
  }
}

/** A fresh idempotency key (crypto.getRandomValues works outside secure contexts too). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
