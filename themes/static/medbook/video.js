/*
 * Medbook video visit page (portal/video.py renders it; the rules live on the server).
 *
 * - The local camera and microphone come from getUserMedia and play in #local-video.
 * - "Join" asks the server for an Agora token (POST tokenUrl), joins the channel and publishes the
 *   local tracks; the other person's video plays in #remote-video.
 * - Buttons: microphone, camera, full screen, end call. A timer and a connection-quality indicator.
 * - "token-privilege-will-expire": a new token from the same endpoint goes to client.renewToken.
 * - The doctor ending the visit POSTs endUrl, which marks the appointment completed. The patient
 *   leaving changes nothing on the server.
 *
 * VIDEO_TEST_MODE (config.testMode): Agora is unreachable in tests, so StubTransport stands in for
 * AgoraRTC join/publish. Everything else (camera, buttons, timer, token request) is the real code.
 */
(function () {
  "use strict";

  var root = document.getElementById("video-visit");
  var configNode = document.getElementById("video-config");
  if (!root || !configNode) return;
  var cfg = JSON.parse(configNode.textContent);
  var S = cfg.strings;
  if (cfg.state !== "open" && cfg.state !== "too_early") return;

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    call: $("video-call"),
    status: $("video-status"),
    countdown: $("video-countdown"),
    local: $("local-video"),
    localBox: $("local-box"),
    remote: $("remote-video"),
    remotePlaceholder: $("remote-placeholder"),
    timer: $("call-timer"),
    quality: $("connection-quality"),
    qualityLabel: $("connection-quality-label"),
    join: $("btn-join"),
    mic: $("btn-mic"),
    cam: $("btn-cam"),
    fullscreen: $("btn-fullscreen"),
    end: $("btn-end"),
    rejoin: $("btn-rejoin"),
    dialog: $("end-dialog"),
    dialogText: $("end-dialog-text"),
    endComplete: $("end-complete"),
    endLeave: $("end-leave"),
    endCancel: $("end-cancel"),
  };

  // Server time minus browser time, so the countdown does not depend on the visitor's clock.
  var clockSkew = Date.parse(cfg.serverNow) - Date.now();
  var serverNow = function () { return Date.now() + clockSkew; };
  var opensAt = Date.parse(cfg.opensAt);
  var closesAt = Date.parse(cfg.closesAt);

  var state = {
    stream: null,
    micMuted: false,
    camOff: false,
    transport: null,
    inCall: false,
    callStartedAt: 0,
    timerId: 0,
  };
  // For debugging in the browser console and for the browser tests.
  window.medbookVideo = state;

  // --- messages --------------------------------------------------------------------------------

  function setStatus(text, kind) {
    el.status.textContent = text || "";
    el.status.className = "video-status" + (kind ? " video-status-" + kind : "");
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = String(m).padStart(2, "0"), ss = String(s).padStart(2, "0");
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  // --- local media -------------------------------------------------------------------------------

  function mediaErrorMessage(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return S.permissionDenied;
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") return S.noDevices;
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return S.deviceBusy;
    return S.mediaError;
  }

  function getMedia(constraints) {
    return navigator.mediaDevices.getUserMedia(constraints);
  }

  // Camera and microphone; without one of them, whatever is there (a missing camera still lets the
  // patient talk). A refusal is final: asking again would only repeat the browser's answer.
  function startLocalMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus(window.isSecureContext ? S.mediaError : S.insecure, "error");
      updateDeviceButtons();
      return Promise.resolve(null);
    }
    var video = { width: { ideal: 1280 }, height: { ideal: 720 } };
    return getMedia({ audio: true, video: video })
      .catch(function (error) {
        if (error.name !== "NotFoundError" && error.name !== "OverconstrainedError") throw error;
        return getMedia({ audio: true }).then(
          function (stream) { setStatus(S.noCamera, "warning"); return stream; },
          function () {
            return getMedia({ video: video }).then(function (stream) {
              setStatus(S.noMicrophone, "warning");
              return stream;
            });
          }
        );
      })
      .then(function (stream) {
        state.stream = stream;
        el.local.srcObject = stream;
        el.localBox.classList.toggle("is-off", stream.getVideoTracks().length === 0);
        updateDeviceButtons();
        return stream;
      })
      .catch(function (error) {
        setStatus(mediaErrorMessage(error), "error");
        updateDeviceButtons();
        return null;
      });
  }

  function tracks(kind) {
    if (!state.stream) return [];
    return kind === "audio" ? state.stream.getAudioTracks() : state.stream.getVideoTracks();
  }

  function updateDeviceButtons() {
    var hasMic = tracks("audio").length > 0, hasCam = tracks("video").length > 0;
    el.mic.disabled = !hasMic;
    el.cam.disabled = !hasCam;
    el.mic.setAttribute("aria-pressed", String(state.micMuted));
    el.mic.querySelector(".label").textContent = state.micMuted ? S.micOff : S.micOn;
    el.cam.setAttribute("aria-pressed", String(state.camOff));
    el.cam.querySelector(".label").textContent = state.camOff ? S.camOff : S.camOn;
    el.localBox.classList.toggle("is-off", state.camOff || !hasCam);
  }

  function toggleMic() {
    state.micMuted = !state.micMuted;
    tracks("audio").forEach(function (track) { track.enabled = !state.micMuted; });
    if (state.transport && state.inCall) state.transport.setMicEnabled(!state.micMuted);
    updateDeviceButtons();
  }

  function toggleCam() {
    state.camOff = !state.camOff;
    tracks("video").forEach(function (track) { track.enabled = !state.camOff; });
    if (state.transport && state.inCall) state.transport.setCamEnabled(!state.camOff);
    updateDeviceButtons();
  }

  function stopLocalMedia() {
    tracks("audio").concat(tracks("video")).forEach(function (track) { track.stop(); });
    el.local.srcObject = null;
  }

  // --- server ------------------------------------------------------------------------------------

  function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": cfg.csrfToken, Accept: "application/json" },
    }).then(
      function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) return body;
          var error = new Error((body.error && body.error.message) || S.joinFailed);
          error.code = body.error && body.error.code;
          error.status = response.status;
          throw error;
        });
      },
      function () { throw new Error(S.networkError); }
    );
  }

  // --- transports: Agora, or the explicit test stub ----------------------------------------------

  function Emitter() {
    var handlers = {};
    return {
      on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); },
      emit: function (name) {
        var args = Array.prototype.slice.call(arguments, 1);
        (handlers[name] || []).forEach(function (fn) { fn.apply(null, args); });
      },
    };
  }

  function AgoraTransport(AgoraRTC) {
    var events = Emitter();
    var client = AgoraRTC.createClient({ mode: "rtc", codec: "vp8" });
    var local = { audio: null, video: null };

    client.on("user-published", function (user, mediaType) {
      client.subscribe(user, mediaType).then(function () {
        if (mediaType === "video") events.emit("remote-video", user.videoTrack);
        if (mediaType === "audio") user.audioTrack.play();
      });
    });
    client.on("user-unpublished", function (user, mediaType) {
      if (mediaType === "video") events.emit("remote-video-gone");
    });
    client.on("user-joined", function () { events.emit("remote-joined"); });
    client.on("user-left", function () { events.emit("remote-left"); });
    client.on("network-quality", function (stats) {
      var up = stats.uplinkNetworkQuality, down = stats.downlinkNetworkQuality;
      events.emit("quality", up && down ? Math.max(up, down) : up || down);
    });
    client.on("connection-state-change", function (current) { events.emit("connection", current); });
    client.on("token-privilege-will-expire", function () { events.emit("token-will-expire"); });
    client.on("token-privilege-did-expire", function () { events.emit("token-did-expire"); });

    return {
      on: events.on,
      join: function (credentials) {
        return client.join(credentials.appId, credentials.channel, credentials.token, credentials.uid);
      },
      publish: function (stream, options) {
        var published = [];
        var audio = stream.getAudioTracks()[0], video = stream.getVideoTracks()[0];
        if (audio) published.push((local.audio = AgoraRTC.createCustomAudioTrack({ mediaStreamTrack: audio })));
        if (video) published.push((local.video = AgoraRTC.createCustomVideoTrack({ mediaStreamTrack: video })));
        if (!published.length) return Promise.resolve();
        return client.publish(published).then(function () {
          var waits = [];
          if (local.audio && !options.micEnabled) waits.push(local.audio.setMuted(true));
          if (local.video && !options.camEnabled) waits.push(local.video.setMuted(true));
          return Promise.all(waits);
        });
      },
      setMicEnabled: function (enabled) { return local.audio ? local.audio.setMuted(!enabled) : Promise.resolve(); },
      setCamEnabled: function (enabled) { return local.video ? local.video.setMuted(!enabled) : Promise.resolve(); },
      renewToken: function (token) { return client.renewToken(token); },
      leave: function () {
        // close() only releases Agora's wrappers: the camera itself is stopped by stopLocalMedia()
        if (local.audio) local.audio.close();
        if (local.video) local.video.close();
        return client.leave();
      },
    };
  }

  // TEST MODE ONLY. Records what the page asked for instead of talking to Agora.
  function StubTransport() {
    var events = Emitter();
    var stub = {
      isStub: true,
      joinedWith: null,
      published: null,
      renewedTokens: [],
      micEnabled: null,
      camEnabled: null,
      left: false,
      on: events.on,
      emit: events.emit, // lets a test play an SDK event, e.g. "token-will-expire"
      join: function (credentials) {
        stub.joinedWith = credentials;
        setTimeout(function () { events.emit("connection", "CONNECTED"); events.emit("quality", 1); }, 0);
        return Promise.resolve(credentials.uid);
      },
      publish: function (stream, options) {
        stub.published = { audio: stream.getAudioTracks().length, video: stream.getVideoTracks().length };
        stub.micEnabled = options.micEnabled;
        stub.camEnabled = options.camEnabled;
        return Promise.resolve();
      },
      setMicEnabled: function (enabled) { stub.micEnabled = enabled; return Promise.resolve(); },
      setCamEnabled: function (enabled) { stub.camEnabled = enabled; return Promise.resolve(); },
      renewToken: function (token) { stub.renewedTokens.push(token); return Promise.resolve(); },
      leave: function () { stub.left = true; return Promise.resolve(); },
    };
    return stub;
  }

  function createTransport() {
    if (cfg.testMode) return StubTransport();
    if (!window.AgoraRTC) throw new Error(S.joinFailed);
    return AgoraTransport(window.AgoraRTC);
  }

  // --- the call ----------------------------------------------------------------------------------

  function setQuality(level) {
    level = level >= 0 && level <= 6 ? level : 0;
    el.quality.setAttribute("data-quality", String(level));
    el.qualityLabel.textContent = S["quality" + level];
  }

  function tickTimer() {
    el.timer.textContent = clock((Date.now() - state.callStartedAt) / 1000);
  }

  function renewToken() {
    return post(cfg.tokenUrl)
      .then(function (credentials) { return state.transport.renewToken(credentials.token); })
      .then(function () { setStatus(S.tokenRenewed); })
      .catch(function () { setStatus(S.tokenRenewFailed, "warning"); });
  }

  function wire(transport) {
    transport.on("remote-joined", function () { setStatus(""); });
    transport.on("remote-video", function (track) {
      el.remotePlaceholder.hidden = true;
      setStatus("");
      track.play(el.remote);
    });
    transport.on("remote-video-gone", function () {
      el.remotePlaceholder.textContent = S.remoteCameraOff;
      el.remotePlaceholder.hidden = false;
    });
    transport.on("remote-left", function () {
      el.remotePlaceholder.textContent = S.remoteLeft;
      el.remotePlaceholder.hidden = false;
    });
    transport.on("quality", setQuality);
    transport.on("connection", function (current) {
      if (current === "RECONNECTING") setStatus(S.connectionLost, "warning");
      if (current === "CONNECTED" && el.status.textContent === S.connectionLost) setStatus(S.reconnected);
    });
    transport.on("token-will-expire", renewToken);
    transport.on("token-did-expire", function () {
      renewToken().then(function () {
        if (serverNow() > closesAt) finish(S.ended);
      });
    });
  }

  function join() {
    el.join.disabled = true;
    setStatus(S.joining);
    post(cfg.tokenUrl)
      .then(function (credentials) {
        state.transport = createTransport();
        wire(state.transport);
        return state.transport.join(credentials).then(function () {
          if (!state.stream) return null;
          return state.transport.publish(state.stream, { micEnabled: !state.micMuted, camEnabled: !state.camOff });
        });
      })
      .then(function () {
        state.inCall = true;
        state.callStartedAt = Date.now();
        tickTimer();
        state.timerId = setInterval(tickTimer, 1000);
        root.classList.add("in-call");
        el.join.hidden = true;
        el.end.hidden = false;
        el.remotePlaceholder.textContent = S.waiting;
        if (el.status.textContent === S.joining) setStatus("");
      })
      .catch(function (error) {
        if (error.code === "video_ended") return finish(error.message);
        setStatus(error.message || S.joinFailed, "error");
        el.join.disabled = false;
      });
  }

  function finish(message) {
    clearInterval(state.timerId);
    state.inCall = false;
    var leaving = state.transport ? state.transport.leave() : Promise.resolve();
    return Promise.resolve(leaving)
      .catch(function () { return null; })
      .then(function () {
        stopLocalMedia();
        root.classList.remove("in-call");
        root.classList.add("finished");
        el.end.hidden = true;
        el.join.hidden = true;
        el.rejoin.hidden = !(message === S.left && serverNow() <= closesAt);
        setQuality(0);
        setStatus(message);
      });
  }

  function askToEnd() {
    var doctor = cfg.role === "doctor";
    el.dialogText.textContent = doctor ? S.endConfirmDoctor : S.endConfirmPatient;
    el.endComplete.hidden = !doctor;
    if (typeof el.dialog.showModal === "function") el.dialog.showModal();
    else el.dialog.setAttribute("open", "");
  }

  function closeDialog() {
    if (typeof el.dialog.close === "function") el.dialog.close();
    else el.dialog.removeAttribute("open");
  }

  function endAndComplete() {
    closeDialog();
    finish(S.left).then(function () {
      return post(cfg.endUrl).then(
        function (result) {
          if (result.completed) el.rejoin.hidden = true;
          setStatus(result.completed ? S.completed : S.left);
        },
        function (error) { setStatus(error.message, "error"); }
      );
    });
  }

  function leave() {
    closeDialog();
    finish(S.left);
  }

  // --- full screen -------------------------------------------------------------------------------

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (el.call.requestFullscreen) el.call.requestFullscreen().catch(function () { return null; });
  }

  function updateFullscreen() {
    var on = document.fullscreenElement === el.call;
    el.fullscreen.setAttribute("aria-pressed", String(on));
    el.fullscreen.querySelector(".label").textContent = on ? S.exitFullscreen : S.fullscreen;
  }

  // --- before the window opens: a countdown that enables "Join" at the right moment --------------

  function watchWindow() {
    var now = serverNow();
    if (!state.inCall && now > closesAt) {
      el.join.disabled = true;
      el.countdown.hidden = true;
      return finish(S.ended);
    }
    if (now < opensAt) {
      el.join.disabled = true;
      el.countdown.hidden = false;
      el.countdown.textContent = format(S.opensIn, { time: clock((opensAt - now) / 1000) });
    } else if (!el.countdown.hidden) {
      el.countdown.hidden = true;
      el.join.disabled = false;
      setStatus(S.openNow);
    }
    setTimeout(watchWindow, 1000);
  }

  // --- start -------------------------------------------------------------------------------------

  el.mic.addEventListener("click", toggleMic);
  el.cam.addEventListener("click", toggleCam);
  el.join.addEventListener("click", join);
  el.end.addEventListener("click", askToEnd);
  el.endComplete.addEventListener("click", endAndComplete);
  el.endLeave.addEventListener("click", leave);
  el.endCancel.addEventListener("click", closeDialog);
  el.fullscreen.addEventListener("click", toggleFullscreen);
  el.fullscreen.hidden = !document.fullscreenEnabled;
  document.addEventListener("fullscreenchange", updateFullscreen);
  window.addEventListener("pagehide", function () {
    if (state.inCall && state.transport) state.transport.leave();
  });

  setQuality(0);
  updateDeviceButtons();
  startLocalMedia();
  watchWindow();
})();
