// The BFF's JSON envelope over fetch: `{ok:true,data}` gives data, `{ok:false,error}` throws
// an ApiError carrying the code, so views can say what went wrong. Same-origin paths only.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function call(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api/v1${path}`, init);
  } catch (e) {
    throw new ApiError(0, "UNREACHABLE", "the BFF did not answer", null);
  }
  let json = null;
  try {
    json = await res.json();
  } catch (e) {
    throw new ApiError(res.status, "BAD_RESPONSE", `HTTP ${res.status} without JSON`, null);
  }
  if (json && json.ok === false && json.error) {
    throw new ApiError(res.status, json.error.code, json.error.message, json.error.details);
  }
  // Reads are wrapped in `data`; job creation (202) answers the job itself.
  return json && json.ok === true && "data" in json ? json.data : json;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});

// A job's log as Server-Sent Events: `onLine` per line, `onEnd` once when the job ends.
export function followLog(scope, id, onLine, onEnd) {
  const source = new EventSource(`/api/v1/${scope}/jobs/${encodeURIComponent(id)}/logs?follow=true&tail=200`);
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      source.close();
      onEnd();
    }
  };
  source.onmessage = (event) => onLine(event.data);
  source.addEventListener("end", end);
  // The stream closes when the job ends; EventSource would reconnect and replay: stop instead.
  source.onerror = end;
  return { close: () => { ended = true; source.close(); } };
}
