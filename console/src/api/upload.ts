// Upload progress for the generated client. fetch() cannot report how much of a request body
// has been sent, so an upload passes this as openapi-fetch's per-request `fetch`: the request
// the client built (path, token, multipart body) is sent by XMLHttpRequest, whose upload events
// report progress, and its reply is handed back to the client as a Response.

/** A `fetch` for `api.POST(…, { fetch })` that calls `onProgress` with 0–100 as the body goes. */
export function fetchWithProgress(
  onProgress: (percent: number) => void,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const body = await request.blob()
    return new Promise<Response>((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open(request.method, request.url)
      request.headers.forEach((value, name) => xhr.setRequestHeader(name, value))
      xhr.responseType = 'blob'
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0) {
          onProgress(Math.round((event.loaded / event.total) * 100))
        }
      }
      xhr.onload = () => {
        onProgress(100)
        const headers = new Headers()
        for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
          const at = line.indexOf(':')
          if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim())
        }
        const empty = xhr.status === 204 || xhr.status === 304
        resolve(new Response(empty ? null : xhr.response, { status: xhr.status, headers }))
      }
      xhr.onerror = () => reject(new TypeError('网络异常，请稍后再试'))
      xhr.onabort = () => reject(new TypeError('上传已取消'))
      xhr.send(body)
    })
  }
}
