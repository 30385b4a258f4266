
(() => {
  const root = document.getElementById('tablet');
  // The page's words, in its language only; a template's `{name}` is filled with that value.
  const words = JSON.parse(root.dataset.words);
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (slot, name) => (Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : slot));
  // An API answer says why in both languages (`message_ja`, `message_en`): the page's is shown.
  const said = (m) => m['message_' + root.dataset.lang];
  const csrf = root.dataset.csrf;
  const $ = (id) => document.getElementById(id);
  const ocr = $('ocr'), feedback = $('ocr-feedback'), check = $('check');
  const result = $('result');
  let coupon = null, key = null;
  const toAscii = (s) => s.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0)).replace(/[\s-]/g, '');
  const checkDigit = (five) => {
    const w = [6, 5, 4, 3, 2];
    const sum = [...five].reduce((a, d, i) => a + Number(d) * w[i], 0);
    return (11 - (sum % 11)) % 10;
  };
  const say = (el, text, bad) => { el.textContent = text; el.className = bad ? 'error' : 'notice'; };
  ocr.addEventListener('input', () => {
    const digits = toAscii(ocr.value);
    check.disabled = true;
    if (/\D/.test(digits)) { say(feedback, words.onlyDigits, true); return; }
    if (digits.length >= 8 && checkDigit(digits.slice(2, 7)) !== Number(digits[7])) {
      say(feedback, fill(words.checkDigitMismatch, { code: digits.slice(2, 8) }), true);
      return;
    }
    if (digits.length < 18) { say(feedback, `${digits.length} / 18`, false); return; }
    if (digits.length > 18) { say(feedback, words.overEighteenDigits, true); return; }
    say(feedback, words.readyToCheck, false);
    check.disabled = false;
  });
  // The camera: the coupon's QR code holds its OCR line. Frames are read on the tablet itself
  // (the browser's own BarcodeDetector where it has one, else the bundled jsQR); no picture of a
  // coupon leaves the device. The typed field stays the way in when there is no camera.
  const camera = $('camera'), view = $('camera-view'), stopCam = $('camera-stop');
  const frame = document.createElement('canvas');
  const detector = 'BarcodeDetector' in window ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
  let stream = null;
  camera.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  const stopCamera = () => {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    view.hidden = true; stopCam.hidden = true; camera.hidden = false;
  };
  const decode = async () => {
    frame.width = view.videoWidth; frame.height = view.videoHeight;
    const ctx = frame.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(view, 0, 0);
    if (detector) {
      const codes = await detector.detect(frame).catch(() => []);
      return codes.length ? codes[0].rawValue : null;
    }
    if (!window.jsQR) return null;
    const image = ctx.getImageData(0, 0, frame.width, frame.height);
    const code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
    return code ? code.data : null;
  };
  const scan = async () => {
    if (!stream) return;
    const text = view.readyState >= 2 && view.videoWidth ? await decode() : null;
    if (text !== null) {
      const digits = toAscii(text);
      if (/^\d{18}$/.test(digits)) {
        stopCamera();
        ocr.value = digits;
        ocr.dispatchEvent(new Event('input'));
        if (!check.disabled) check.click(); else ocr.focus();
        return;
      }
      say(feedback, words.cameraNotCoupon, true);
    }
    setTimeout(scan, 150);
  };
  camera.addEventListener('click', async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch (e) {
      say(feedback, words.cameraUnavailable, true);
      ocr.focus();
      return;
    }
    view.srcObject = stream;
    view.hidden = false; stopCam.hidden = false; camera.hidden = true;
    await view.play().catch(() => {});
    say(feedback, words.cameraPoint, false);
    scan();
  });
  stopCam.addEventListener('click', () => { stopCamera(); ocr.focus(); });
  const show = (ok, lines) => {
    result.hidden = false;
    result.className = 'card ' + (ok ? 'ok' : 'refused');
    result.replaceChildren(...lines.map((t, i) => { const p = document.createElement(i === 0 ? 'h3' : 'p'); p.textContent = t; p.className = ok ? 'notice' : 'error'; return p; }));
    result.scrollIntoView({ block: 'nearest' });
  };
  const message = (body) => [said(body), ...(body.rules || []).map(said)];
  check.addEventListener('click', async () => {
    result.hidden = true;
    const digits = toAscii(ocr.value);
    const res = await fetch(`/api/v1/coupons/${digits}`, { headers: { accept: 'application/json' } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { show(false, [words.cannotRegister, ...message(body)]); return; }
    coupon = digits; key = null;
    const done = body.doses.map((d) => fill(words.doseOnCoupon, { n: d.dose_number, date: d.administered_on, product: d.product_name })).join(' / ');
    $('coupon-info').textContent = `${body.municipality_name}（${body.coupon_number}） ${done || words.noDoseYet}`;
    $('dose_number').value = body.next_dose_number;
    $('step-dose').hidden = false;
    $('lot_number').focus();
  });
  const reset = () => { coupon = null; key = null; $('step-dose').hidden = true; ocr.value = ''; check.disabled = true; feedback.textContent = ''; ocr.focus(); };
  $('cancel').addEventListener('click', () => { result.hidden = true; reset(); });
  // A barcode or OCR wand types the line and Enter: Enter checks the coupon; in the dose's
  // fields Enter registers and Escape starts over, so a whole registration needs no touch.
  ocr.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); if (!check.disabled) check.click(); }
  });
  for (const id of ['dose_number', 'administered_on', 'lot_number', 'venue', 'doctor']) {
    $(id).addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); $('register').click(); }
    });
  }
  $('step-dose').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); result.hidden = true; reset(); }
  });
  for (const id of ['dose_number', 'administered_on', 'product', 'lot_number', 'venue', 'doctor']) {
    $(id).addEventListener('input', () => { key = null; });
  }
  $('register').addEventListener('click', async () => {
    if (!coupon) return;
    key = key || (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    const payload = {
      coupon, dose_number: Number($('dose_number').value), administered_on: $('administered_on').value,
      product: $('product').value, lot_number: $('lot_number').value, venue: $('venue').value, doctor: $('doctor').value,
    };
    // No answer, a gateway's 502/504, or 503 while the database fails over (not an operator's stop):
    // sent again by itself with the same key after Retry-After, for about a minute.
    const retryable = (r, b) => !r || r.status === 502 || r.status === 504 || (r.status === 503 && b.code !== 'function_stopped');
    const register = $('register');
    let res, body, waited = 0;
    register.disabled = true;
    for (;;) {
      res = await fetch('/api/v1/doses', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-csrf-token': csrf }, body: JSON.stringify(payload) }).catch(() => null);
      body = res ? await res.json().catch(() => ({})) : {};
      if (!retryable(res, body) || waited >= 60) break;
      const after = Math.min(10, Math.max(1, Number(res && res.headers.get('retry-after')) || 2));
      show(false, [words.retrying]);
      await new Promise((done) => setTimeout(done, after * 1000));
      waited += after;
    }
    register.disabled = false;
    if (!res) { show(false, [words.notThrough]); return; }
    if (res.status === 201) {
      show(true, [words.registered, fill(words.registeredOnCoupon, {
        coupon: coupon.slice(-10), municipality: body.municipality_name, n: body.dose_number,
        date: body.administered_on, product: body.product_name, lot: body.lot_number,
      })]);
      const done = { coupon, dose_number: body.dose_number };
      const undo = document.createElement('button');
      undo.type = 'button'; undo.id = 'undo';
      undo.textContent = words.undoThis;
      undo.addEventListener('click', async () => {
        const reason = window.prompt(words.whyUndone);
        if (!reason) return;
        const r = await fetch('/api/v1/doses/undo', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ ...done, reason }) }).catch(() => null);
        const b = r ? await r.json().catch(() => ({})) : {};
        if (r && r.ok) show(true, [words.undone]);
        else show(false, [words.notUndone, ...message(b)]);
      });
      result.append(undo);
      reset();
    } else {
      if (retryable(res, body)) { show(false, [words.notThrough, ...message(body)]); return; }
      show(false, [words.notRegistered, ...message(body)]);
      if (res.status >= 500) return;
      key = null;
    }
  });
})();
