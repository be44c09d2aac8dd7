/* Staff batch upload with tus (resumable): enhancement of the plain form on /staff/imports/new.
 *
 * Without JavaScript the form posts the .zip in one request (small batches). With it, the file
 * goes in chunks through the vendored tus-js-client to the portal's tus endpoints: a connection
 * that breaks is retried and the upload resumes at the offset the server holds; after a reload,
 * choosing the same file resumes the earlier upload (tus-js-client keeps its address in
 * localStorage). The CSRF token travels in the X-CSRFToken header of every request; a token
 * older than half an hour is fetched anew first (they expire after an hour, uploads take longer).
 *
 * A folder (the input with webkitdirectory, hidden without JavaScript) is zipped here first with
 * the vendored client-zip: STORE, no recompression (scans are already compressed), Zip64 past
 * 4 GiB. Entries keep the folder's name as their first segment (folder/manifest.jsonl): the
 * importer accepts a zip holding one folder with manifest.jsonl. The archive is streamed into a
 * Blob (Chromium keeps big Blobs on disk, not in memory), then sent like a chosen .zip.
 */
(function () {
  "use strict";
  var form = document.getElementById("batch-upload");
  if (!form || !window.tus || !window.tus.isSupported) { return; }
  var input = document.getElementById("batch");
  var folder = document.getElementById("batch-folder");
  var unit = document.getElementById("unit");
  var status = document.getElementById("upload-status");
  var box = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var token = form.querySelector("input[name=csrf_token]").value;
  var tokenAt = Date.now();
  var TOKEN_AGE = 30 * 60 * 1000;
  var button = form.querySelector("button[type=submit]");

  function say(text) { status.textContent = text; }

  function freshToken() {
    if (Date.now() - tokenAt < TOKEN_AGE) { return Promise.resolve(token); }
    return fetch(form.dataset.tokenUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) { token = data.token; tokenAt = Date.now(); return token; });
  }

  // The folder field needs the zip library; without it the page stays the .zip form.
  if (folder && window.downloadZip) {
    document.getElementById("batch-folder-field").hidden = false;
    input.addEventListener("change", function () {
      if (input.files.length) { folder.value = ""; }
    });
    folder.addEventListener("change", function () {
      // One choice at a time: a folder replaces the chosen .zip (and the .zip is no longer required).
      if (folder.files.length) { input.value = ""; }
      input.required = !folder.files.length;
    });
  }

  function zipFolder(files) {
    // Sorted: the same folder gives the same bytes, so tus can resume it after a reload.
    var chosen = Array.prototype.slice.call(files).sort(function (a, b) {
      return a.webkitRelativePath < b.webkitRelativePath ? -1 : (a.webkitRelativePath > b.webkitRelativePath ? 1 : 0);
    });
    var name = chosen[0].webkitRelativePath.split("/")[0] + ".zip";
    var newest = chosen.reduce(function (latest, file) { return Math.max(latest, file.lastModified); }, 0);
    var shownAt = 0;
    function packing(done) {
      // At most four updates a second: a folder may hold many thousand small files.
      if (done < chosen.length && Date.now() - shownAt < 250) { return; }
      shownAt = Date.now();
      say(status.dataset.zipping.replace("{done}", done).replace("{total}", chosen.length));
    }
    function* entries() {  // lazily: client-zip asks for the next file once the last one is written
      for (var i = 0; i < chosen.length; i += 1) {
        packing(i);
        yield { name: chosen[i].webkitRelativePath, lastModified: chosen[i].lastModified, input: chosen[i] };
      }
    }
    packing(0);
    return window.downloadZip(entries()).blob().then(function (blob) {
      packing(chosen.length);
      return new File([blob], name, { type: "application/zip", lastModified: newest });
    });
  }

  form.addEventListener("submit", function (event) {
    var fromFolder = folder && folder.files && folder.files.length;
    var file = input.files && input.files[0];
    if (!file && !fromFolder) { return; }  // the browser's own "required" message
    event.preventDefault();
    button.disabled = true;
    if (!fromFolder) { send(file); return; }
    zipFolder(folder.files).then(send, function (error) {
      say(status.dataset.failed + " " + String(error));
      button.disabled = false;
    });
  });

  function send(file) {
    box.hidden = false;
    var upload = new window.tus.Upload(file, {
      endpoint: form.dataset.endpoint,
      chunkSize: parseInt(form.dataset.chunk, 10),
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
      metadata: { filename: file.name, unit: unit.value },
      onBeforeRequest: function (request) {
        return freshToken().then(function (value) { request.setHeader("X-CSRFToken", value); });
      },
      removeFingerprintOnSuccess: true,
      onProgress: function (sent, total) {
        var percent = total ? Math.floor(sent * 100 / total) : 0;
        bar.value = percent;
        say(status.dataset.uploading.replace("{percent}", percent));
      },
      onShouldRetry: function (error, retryAttempt) {
        var response = error.originalResponse;
        var code = response ? response.getStatus() : 0;
        if (code === 403 || code === 404 || code === 413 || code === 415 || code === 400) { return false; }
        say(status.dataset.paused);
        return true;
      },
      onError: function (error) {
        var response = error.originalResponse;
        var body = response ? response.getBody() : String(error);
        say(status.dataset.failed + " " + body);
        button.disabled = false;
      },
      onSuccess: function () {
        bar.value = 100;
        say(status.dataset.done);
        var id = upload.url.split("/").pop();
        window.location.assign(form.dataset.jobUrl.replace("UPLOAD_ID", encodeURIComponent(id)));
      }
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) { upload.resumeFromPreviousUpload(previous[0]); }
      upload.start();
    });
  }
}());
