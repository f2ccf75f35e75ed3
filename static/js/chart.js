// The NEWS2 chart (records/observation_chart.html), moved out of the page so that the
// Content-Security-Policy can forbid inline scripts.
/* Open on the newest sets, as on the paper chart's latest column, with the first set in view whole:
   a value half under the frozen columns misreads ("96/67" as "6/67"). The sets snap to a column's
   start (CSS); room is added after the newest so that its position is a column start too. */
(function () {
  var el = document.getElementById("news2-chart-scroll");
  if (!el) { return; }
  var table = el.querySelector("table");
  function openOnNewest() {
    table.style.marginRight = "0px";
    if (el.scrollWidth <= el.clientWidth + 1) { el.scrollLeft = 0; return; }  // every set is in view
    var heads = el.querySelectorAll("thead th.epr-chart__time, thead th.epr-chart__gap");
    var box = el.getBoundingClientRect();
    var frozen = el.querySelector("thead th.epr-sticky-2").getBoundingClientRect().right - box.left;
    var room = el.clientWidth - frozen;
    var end = heads[heads.length - 1].getBoundingClientRect().right - box.left + el.scrollLeft;
    for (var i = 0; i < heads.length; i++) {
      var start = heads[i].getBoundingClientRect().left - box.left + el.scrollLeft;
      if (end - start <= room + 1) {
        var target = Math.max(0, start - frozen);
        var extra = target - (el.scrollWidth - el.clientWidth);
        if (extra > 0) { table.style.marginRight = Math.ceil(extra) + "px"; }
        el.scrollLeft = target;
        return;
      }
    }
    el.scrollLeft = el.scrollWidth;
  }
  openOnNewest();
  window.addEventListener("resize", openOnNewest);
})();
