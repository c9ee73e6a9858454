// The studio's few behaviours that are not requests: hover play, seeking, voice samples.
document.addEventListener("mouseover", (event) => {
  const video = event.target.closest && event.target.closest("video.hover-play");
  if (video) video.play().catch(() => {});
});
document.addEventListener("mouseout", (event) => {
  const video = event.target.closest && event.target.closest("video.hover-play");
  if (video) video.pause();
});
document.addEventListener("click", (event) => {
  const seek = event.target.closest && event.target.closest(".marker, .seek");
  if (seek) {
    event.preventDefault();
    const video = document.getElementById("episode");
    video.currentTime = parseFloat(seek.dataset.time);
    video.play().catch(() => {});
    return;
  }
  const play = event.target.closest && event.target.closest("button.play");
  if (play) new Audio(play.dataset.audio).play().catch(() => {});
});
// Mark the shot under the playhead.
document.addEventListener("timeupdate", (event) => {
  if (event.target.id !== "episode") return;
  const t = event.target.currentTime;
  let current = null;
  document.querySelectorAll(".marker").forEach((m) => { if (parseFloat(m.dataset.time) <= t + 1e-3) current = m; });
  document.querySelectorAll(".marker.current").forEach((m) => m.classList.remove("current"));
  if (current) current.classList.add("current");
}, true);
