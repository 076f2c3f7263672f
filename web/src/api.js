// The advisor's HTTP API as the widget calls it: bearer token from the host's tokenProvider
// (asked again once after a 401), errors turned into readable, retryable-or-not reasons.

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
    this.token = null;
  }

  url(path) {
    return `${this.host.apiBase}${path}`;
  }

  async bearer(fresh) {
    const provider = this.host.tokenProvider;
    if (typeof provider !== "function") return null;
    if (fresh || this.token === null) this.token = (await provider()) || null;
    return this.token;
  }

  /** The response of an OK request; a 401 asks the token provider again and retries once. */
  async fetch(path, { method = "GET", body, headers = {}, signal } = {}) {
    let response = await this.send(path, method, body, headers, signal, false);
    if (response.status === 401 && typeof this.host.tokenProvider === "function") {
      response = await this.send(path, method, body, headers, signal, true);
    }
    if (!response.ok) throw new ApiError(response.status, await reasonOf(response));
    return response;
  }

  async send(path, method, body, headers, signal, fresh) {
    const all = { Accept: "application/json", ...headers };
    let token;
    try {
      token = await this.bearer(fresh);
    } catch {
      throw new ApiError(401, "Could not get a sign-in token from the page. Sign in again and retry.");
    }
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
