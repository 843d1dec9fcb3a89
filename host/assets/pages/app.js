// Progressive enhancement of the pages: every action also works as a plain form.
// - kanban: drag a card onto a column to move the deal; more cards load on demand;
// - job pages: progress refreshes itself until the job ends.
(function () {
  "use strict";
  var csrf = document.body ? document.body.getAttribute("data-csrf") : "";

  function post(url, data) {
    var body = new URLSearchParams(data);
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Accept": "text/html", "X-Requested-With": "fetch" },
      body: body,
      credentials: "same-origin",
    });
  }

  // Kanban drag and drop: the server checks the stage gate and answers the card's HTML
  // (with the refusal beside it when the gate says no).
  function initKanban() {
    var board = document.querySelector(".kanban");
    if (!board) return;
    board.addEventListener("dragstart", function (e) {
      var card = e.target.closest(".deal-card");
      if (card) { e.dataTransfer.setData("text/plain", card.id); }
    });
    board.querySelectorAll(".column").forEach(function (col) {
      col.addEventListener("dragover", function (e) { e.preventDefault(); col.classList.add("drop"); });
      col.addEventListener("dragleave", function () { col.classList.remove("drop"); });
      col.addEventListener("drop", function (e) {
        e.preventDefault();
        col.classList.remove("drop");
        var card = document.getElementById(e.dataTransfer.getData("text/plain"));
        if (!card) return;
        moveCard(card, col.getAttribute("data-stage"));
      });
    });
    board.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.classList.contains("move")) return;
      e.preventDefault();
      var card = form.closest(".deal-card");
      moveCard(card, form.querySelector("select[name=stage_id]").value);
    });
    board.addEventListener("click", function (e) {
      var more = e.target.closest("a.more");
      if (!more) return;
      e.preventDefault();
      fetch(more.getAttribute("data-fragment"), { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var list = more.closest(".column").querySelector(".cards");
        more.remove();
        while (holder.firstChild) list.appendChild(holder.firstChild);
      });
    });
  }

  function moveCard(card, stageId) {
    var url = card.getAttribute("data-move");
    post(url, { stage_id: stageId, fragment: "1" }).then(function (r) {
      return r.text().then(function (html) { return { ok: r.ok, html: html }; });
    }).then(function (res) {
      var holder = document.createElement("div");
      holder.innerHTML = res.html.trim();
      var fresh = holder.querySelector(".deal-card");
      if (!fresh) { window.location.reload(); return; }
      if (res.ok) {
        var target = document.querySelector('.column[data-stage="' + stageId + '"] .cards');
        card.remove();
        if (target) target.insertBefore(fresh, target.firstChild);
        refreshTotals();
      } else {
        card.replaceWith(fresh);
      }
      var focus = fresh.querySelector(".refusal") || fresh;
      focus.setAttribute("tabindex", "-1");
      focus.focus();
    });
  }

  function refreshTotals() {
    var board = document.querySelector(".kanban");
    fetch(board.getAttribute("data-totals"), { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (totals) {
      totals.forEach(function (t) {
        var col = document.querySelector('.column[data-stage="' + t.stage_id + '"]');
        if (!col) return;
        col.querySelector(".count").textContent = t.count_text;
        col.querySelector(".sum").textContent = t.sum_text;
      });
    });
  }

  // Job progress: poll the job's progress fragment until it is finished.
  function initJob() {
    var box = document.querySelector("[data-job-progress]");
    if (!box) return;
    var url = box.getAttribute("data-job-progress");
    function tick() {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        box.innerHTML = html;
        var done = box.querySelector("[data-finished]");
        if (!done) setTimeout(tick, 1000);
      }).catch(function () { setTimeout(tick, 3000); });
    }
    setTimeout(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () { initKanban(); initJob(); });
})();
