// Sends an upload form (targets, doses) with its progress shown under the button: the share of the
// file sent, then that the server is checking and importing it. The answer, the import's report
// page, then takes this page's place. Without script the form is sent as it is.
(() => {
  for (const box of document.querySelectorAll('.upload-progress')) {
    const form = box.closest('form');
    const bar = box.querySelector('progress');
    const status = box.querySelector('.upload-status');
    const button = form.querySelector('button[type=submit]');
    form.addEventListener('submit', (e) => {
      const file = form.querySelector('input[type=file]');
      if (!file || !file.files.length || !window.FormData) return;
      e.preventDefault();
      const xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      box.hidden = false;
      button.disabled = true;
      bar.value = 0;
      status.textContent = `${box.dataset.sending} 0%`;
      xhr.upload.onprogress = (ev) => {
        if (!ev.lengthComputable) return;
        const percent = Math.floor((ev.loaded * 100) / ev.total);
        bar.value = percent;
        status.textContent = `${box.dataset.sending} ${percent}%`;
      };
      xhr.upload.onload = () => {
        bar.removeAttribute('value');
        status.textContent = box.dataset.reading;
      };
      xhr.onload = () => {
        document.open();
        document.write(xhr.responseText);
        document.close();
      };
      xhr.onerror = () => {
        status.textContent = box.dataset.failed;
        button.disabled = false;
      };
      xhr.send(new FormData(form));
    });
  }
})();
